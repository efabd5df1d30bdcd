package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
)

func (a *app) runCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run every worker and watch the landing zone until stopped",
		Long: `run starts all five workers in this process on the embedded tier and watches
<home>/lake/landing/ for new files: each file under a pipeline's landing
prefix starts a run of that pipeline. Logs are JSON on stderr. Stop with Ctrl-C;
running steps finish first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := a.open(a.errOut)
			if err != nil {
				return err
			}
			defer p.Close()
			ctx, stop := signalContext()
			defer stop()
			var names []string
			for _, pl := range p.Pipelines.All() {
				names = append(names, pl.Name+" ("+pl.Source.Prefix+")")
			}
			landing := fmt.Sprintf("s3://%s/landing/", p.Lake.Bucket())
			if l := p.LocalLake(); l != nil {
				landing = l.Root() + "/landing/"
			}
			p.Log.Info("fusion running", "home", a.cfg.Home, "transport", a.cfg.Transport, "pipelines", names, "landing", landing)
			return p.Run(ctx, platform.RunOptions{Workers: pipeline.Workers, Ledger: true})
		},
	}
}
