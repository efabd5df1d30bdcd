package cli

import (
	"fmt"
	"os"

	"github.com/fusiondata/fusion/deploy"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// readPipelines reads the pipelines directory without opening the
// platform; without one (a home not yet run) it serves the sample
// pipelines a new home gets. Callers decide what a problem file means.
func (a *app) readPipelines() (*pipeline.Registry, error) {
	dir := a.cfg.PipelinesDir()
	fsys := os.DirFS(dir)
	if _, err := os.Stat(dir); err != nil {
		fmt.Fprintf(a.errOut, "fusion: no pipelines at %s; using the sample pipelines\n", dir)
		fsys, dir = deploy.Pipelines(), "deploy/pipelines"
	}
	return pipeline.NewRegistry(fsys, dir)
}
