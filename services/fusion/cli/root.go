// Package cli is the fusion command line.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	// Every worker, registered for `fusion run` and `fusion demo`.
	_ "github.com/fusiondata/fusion/services/inference/handler"
	_ "github.com/fusiondata/fusion/services/ingest/handler"
	_ "github.com/fusiondata/fusion/services/loader/handler"
	_ "github.com/fusiondata/fusion/services/traindata/handler"
	_ "github.com/fusiondata/fusion/services/transform/handler"

	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/platform"
)

// app carries what every command shares.
type app struct {
	cfg    config.Config
	cfgErr error
	out    io.Writer
	errOut io.Writer
}

// Execute runs the fusion command line and returns the exit code.
func Execute(cfg config.Config, cfgErr error, args []string, stdout, stderr io.Writer) int {
	a := &app{cfg: cfg, cfgErr: cfgErr, out: stdout, errOut: stderr}
	root := &cobra.Command{
		Use:   "fusion",
		Short: "Run data and ML pipelines as a choreography of independent workers",
		Long: `fusion runs data and ML pipelines without a central orchestrator: independent
workers (ingest, transform, traindata, inference, loader) react to events and
publish what they produced. On a laptop everything runs in one process on the
embedded tier: a lake directory, a DuckDB warehouse and in-process queues, all
under one home directory (--home, FUSION_HOME, default ./.fusion).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if a.cfgErr != nil {
				return fmt.Errorf("configuration: %w", a.cfgErr)
			}
			a.cfg.SetDefaults()
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.PersistentFlags().StringVar(&a.cfg.Home, "home", cfg.Home, "fusion home directory (FUSION_HOME)")
	root.PersistentFlags().StringVar(&a.cfg.Pipelines, "pipelines", cfg.Pipelines, "pipeline definitions directory (FUSION_PIPELINES; default <home>/pipelines)")
	root.AddCommand(a.demoCmd(), a.runCmd(), a.ingestCmd(), a.queryCmd(), a.runsCmd(), a.sampleCmd(), a.validateCmd(), a.deployCmd(), a.dlqCmd(), a.graphCmd())

	if err := root.Execute(); err != nil {
		var ee exitError
		if !errors.As(err, &ee) || ee.msg != "" {
			fmt.Fprintln(stderr, "fusion:", err)
		}
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

// exitError ends a command with a code, after it printed its own output.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// open opens the embedded tier in the configured home. Worker logs go to
// w as JSON.
func (a *app) open(w io.Writer) (*platform.Platform, error) {
	return platform.Open(a.cfg, a.logger(w))
}

func (a *app) logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: a.cfg.LogLevel})).With("service", "fusion")
}

// signalContext is cancelled by Ctrl-C or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// isTerminal reports whether w is an interactive terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
