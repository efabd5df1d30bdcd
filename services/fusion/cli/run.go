package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
)

func (a *app) runCmd() *cobra.Command {
	var workers string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run every worker and watch the landing zone until stopped",
		Long: `run starts all five workers in this process on the embedded tier and watches
<home>/lake/landing/ for new files: each file under a pipeline's landing
prefix starts a run of that pipeline. Logs are JSON on stderr. Stop with Ctrl-C;
running steps finish first. The process also keeps the run ledger and
announces runs open past their pipeline's deadline (checked every
FUSION_DEADLINE_CHECK, 30s) on the failures topic.

With FUSION_TRANSPORT=aws the workers consume their SQS queues instead;
--workers picks which run here ("none" keeps only the ledger).

With FUSION_METRICS_ADDR=127.0.0.1:9464 it serves the workers' metrics at
http://127.0.0.1:9464/metrics for Prometheus.

With FUSION_HTTP_ADDR=127.0.0.1:8080 it serves the workers' HTTP endpoints:
POST /v1/streams/{pipeline}/records (JSON records for a pipeline with a
stream block, micro-batched into runs), POST /v1/score/{pipeline} (one
record scored in real time), GET /v1/score/{pipeline}/latency and /healthz.`,
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
				from := pl.Source.Prefix
				if pl.Source.Postgres != nil {
					from = pl.Source.Postgres.Label()
				}
				names = append(names, pl.Name+" ("+from+")")
			}
			landing := fmt.Sprintf("s3://%s/landing/", p.Lake.Bucket())
			if l := p.LocalLake(); l != nil {
				landing = l.Root() + "/landing/"
			}
			p.Log.Info("fusion running", "home", a.cfg.Home, "transport", a.cfg.Transport, "pipelines", names, "landing", landing)
			run, err := pickWorkers(workers)
			if err != nil {
				return err
			}
			return p.Run(ctx, platform.RunOptions{Workers: run, Ledger: true})
		},
	}
	cmd.Flags().StringVar(&workers, "workers", strings.Join(pipeline.Workers, ","), `workers to run, comma-separated, or "none"`)
	return cmd
}

func pickWorkers(list string) ([]string, error) {
	if list == "none" {
		return nil, nil
	}
	var names []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if !slices.Contains(pipeline.Workers, n) {
			return nil, fmt.Errorf("--workers: %q is not a worker (%s)", n, strings.Join(pipeline.Workers, ", "))
		}
		names = append(names, n)
	}
	return names, nil
}
