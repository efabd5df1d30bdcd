package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fusiondata/fusion/services/fusion/sample"
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
		Short: "Run a sample pipeline end to end and print the run summary",
		Long: `demo runs a sample pipeline end to end on the embedded tier and prints its
summary. By default (--pipeline churn) it generates the churn sample
(customers, their activity and whether they churned), lands it, and runs
every worker on it: ingest, transform, training set, scoring with the
committed LightGBM model, and loading curated rows and predictions into the
DuckDB warehouse. --pipeline picks another sample pipeline of
deploy/pipelines, one per job style. It exits 0 only if every run succeeded.

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
	cmd.Flags().StringVar(&name, "pipeline", "churn", "sample pipeline to run: "+strings.Join(demoPipelines(), ", "))
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
	driver, ok := demoDrivers[name]
	if !ok {
		return fmt.Errorf("--pipeline %q has no demo (have %s)", name, strings.Join(demoPipelines(), ", "))
	}
	if err := os.MkdirAll(a.cfg.Home, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(a.cfg.Home, "fusion.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	if driver.Configure != nil {
		driver.Configure(&a.cfg)
	}
	p, err := a.open(logFile)
	if err != nil {
		return err
	}
	defer p.Close()
	pl, err := p.Pipelines.Get(name)
	if err != nil {
		return err
	}

	sigCtx, stopSignals := signalContext()
	defer stopSignals()
	runCtx, stopWorkers := context.WithCancel(sigCtx)
	opts := platform.RunOptions{Workers: pipeline.Workers, Ledger: true}
	if driver.Options != nil {
		driver.Options(&opts)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx, opts) }()
	defer func() {
		stopWorkers()
		<-done
	}()

	waitCtx, cancel := context.WithTimeout(sigCtx, timeout)
	defer cancel()
	return driver.Feed(waitCtx, &demoSession{P: p, Pipeline: pl, Rows: rows, Seed: seed, Out: a.out, Progress: a.errOut, Home: a.cfg.Home})
}
