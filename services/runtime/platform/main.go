package platform

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/fusiondata/fusion/services/runtime/config"
)

// Main runs one worker as its own program — what services/<worker>/main.go
// calls — until SIGINT or SIGTERM, and returns the exit code.
func Main(name string, cfg config.Config, cfgErr error, args []string) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&cfg.Home, "home", cfg.Home, "fusion home directory (FUSION_HOME)")
	fs.StringVar(&cfg.Pipelines, "pipelines", cfg.Pipelines, "pipeline definitions directory (FUSION_PIPELINES)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `usage: %s [--home DIR] [--pipelines DIR]

Runs fusion's %s worker: it consumes the %s queue until stopped with SIGINT or
SIGTERM, finishing the events it is handling first. Logs are JSON on stderr.

Environment: FUSION_HOME, FUSION_PIPELINES, FUSION_TRANSPORT, FUSION_CONCURRENCY,
FUSION_RETRIES, FUSION_ENGINE_THREADS, FUSION_ENGINE_MEMORY,
FUSION_WAREHOUSE_MEMORY, FUSION_LOG_LEVEL,
FUSION_METRICS_ADDR (host:port: serve Prometheus metrics at /metrics),
FUSION_HTTP_ADDR (host:port: serve the worker's HTTP endpoints and /healthz),
OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_PROTOCOL (grpc or
http/protobuf: export traces), OTEL_SERVICE_NAME (default fusion-%s).
To run every worker in one process on a laptop, use "fusion run".

`, name, name, name, name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if cfgErr != nil {
		fmt.Fprintf(os.Stderr, "%s: configuration: %v\n", name, cfgErr)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", "fusion-"+name)
	p, err := Open(cfg, log)
	if err != nil {
		log.Error("cannot start", "error", err.Error())
		return 1
	}
	defer p.Close()
	if cfg.Transport == config.TransportEmbedded {
		log.Warn("the embedded transport is in-process: this worker only sees events published in this process; run \"fusion run\" to run every worker together")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := p.Run(ctx, RunOptions{Workers: []string{name}}); err != nil {
		log.Error("stopped", "error", err.Error())
		return 1
	}
	return 0
}
