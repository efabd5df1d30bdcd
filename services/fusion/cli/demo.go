package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/fusiondata/fusion/services/fusion/sample"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
)

func (a *app) demoCmd() *cobra.Command {
	var rows int
	var seed uint64
	var name string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the churn sample end to end and print the run summary",
		Long: `demo generates the churn sample (customers, their activity and whether they
churned), lands it, and runs every worker on it: ingest, transform, training
set, scoring with the committed LightGBM model, and loading curated rows and
predictions into the DuckDB warehouse. It prints the run summary and exits 0
only if every step succeeded.

Without --home it uses a fresh temporary home; with --home the directory must
be new, empty, or an existing fusion home.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("home") && !a.cfg.HomeFromEnv {
				dir, err := os.MkdirTemp("", "fusion-demo-")
				if err != nil {
					return err
				}
				a.cfg.Home = dir
			} else if err := checkDemoHome(a.cfg.Home); err != nil {
				return err
			}
			return a.demo(cmd.Context(), name, rows, seed, timeout)
		},
	}
	cmd.Flags().IntVar(&rows, "rows", sample.DefaultRows, "customers in the generated sample")
	cmd.Flags().Uint64Var(&seed, "seed", sample.DefaultSeed, "seed of the generated sample")
	cmd.Flags().StringVar(&name, "pipeline", "churn", "sample pipeline to run")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Minute, "give up waiting for the run after this long")
	return cmd
}

// checkDemoHome refuses to litter a directory that holds other things.
func checkDemoHome(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 || platform.IsHome(dir) {
		return nil // new, empty or a fusion home
	}
	return fmt.Errorf("--home %s is neither empty nor a fusion home; pick a new directory", dir)
}

func (a *app) demo(ctx context.Context, name string, rows int, seed uint64, timeout time.Duration) error {
	if err := os.MkdirAll(a.cfg.Home, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(a.cfg.Home, "fusion.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	p, err := a.open(logFile)
	if err != nil {
		return err
	}
	defer p.Close()
	pl, err := p.Pipelines.Get(name)
	if err != nil {
		return err
	}
	if name != "churn" {
		return fmt.Errorf("no sample data for pipeline %q: the demo generates the churn sample", name)
	}

	sigCtx, stopSignals := signalContext()
	defer stopSignals()
	runCtx, stopWorkers := context.WithCancel(sigCtx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx, platform.RunOptions{Workers: pipeline.Workers, Ledger: true}) }()
	defer func() {
		stopWorkers()
		<-done
	}()

	fmt.Fprintf(a.errOut, "fusion demo: home %s, %d customers\n", a.cfg.Home, rows)
	key := pl.Source.Prefix + fmt.Sprintf("customers-%s.csv", time.Now().UTC().Format("20060102T150405.000"))
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(sample.Churn(pw, rows, seed)) }()
	if _, err := p.Lake.Put(sigCtx, key, pr); err != nil {
		return fmt.Errorf("land the sample: %w", err)
	}

	waitCtx, cancel := context.WithTimeout(sigCtx, timeout)
	defer cancel()
	run, err := waitForRun(waitCtx, p.Ledger, key, a.errOut)
	if run.ID != "" {
		printRun(a.out, run)
	}
	if err != nil {
		return fmt.Errorf("waiting for the run: %w", err)
	}
	fmt.Fprintf(a.out, "\nhome %s (lake/, warehouse.duckdb, logs in fusion.log)\n", a.cfg.Home)
	fmt.Fprintf(a.out, "try  fusion query --home %s \"SELECT plan, count(*) AS customers, round(avg(score), 3) AS churn_risk FROM churn_customers JOIN churn_predictions USING (customer_id) GROUP BY plan ORDER BY plan\"\n", a.cfg.Home)
	if run.Status != ledger.Succeeded {
		return exitError{code: 1, msg: fmt.Sprintf("run %s %s", run.ID, run.Status)}
	}
	return nil
}
