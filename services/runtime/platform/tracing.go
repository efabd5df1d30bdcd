package platform

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/services/runtime/telemetry"
)

// openTracing sets up the process's tracing from Config.Tracing: spans
// are batched and exported over OTLP (gRPC or HTTP) when an endpoint is
// configured, and stay in the process otherwise — every run still gets a
// trace id, carried from hop to hop and kept in the ledger. Close flushes
// what is left, last of all.
func (p *Platform) openTracing() error {
	t := p.Config.Tracing
	var procs []sdktrace.SpanProcessor
	if t.Exporting() {
		exp, err := telemetry.NewOTLPExporter(context.Background(), t.Protocol)
		if err != nil {
			return fmt.Errorf("tracing: %w", err)
		}
		procs = append(procs, sdktrace.NewBatchSpanProcessor(exp))
		// Export failures (a collector that is down) are logged like
		// everything else, not printed by the SDK's default logger.
		log := p.Log
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("tracing", "error", err.Error()) }))
		p.Log.Debug("exporting traces", "endpoint", t.Endpoint, "protocol", t.Protocol)
	}
	p.Tracing = telemetry.NewTracing(t.ResourceAttributes, procs...)
	p.closer = append(p.closer, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Tracing.Shutdown(ctx); err != nil {
			p.Log.Warn("spans not exported at exit", "error", err.Error())
		}
		return nil
	})
	return nil
}

// serviceName is the service.name of a worker's spans: fusion-<worker>,
// or OTEL_SERVICE_NAME in a process that runs that worker alone. In a
// process running several workers (fusion run) each keeps its own name,
// so the trace shows the services a deployment has.
func (p *Platform) serviceName(worker string, workers int) string {
	if workers == 1 && p.Config.Tracing.ServiceName != "" {
		return p.Config.Tracing.ServiceName
	}
	if worker == "" {
		return "fusion"
	}
	return "fusion-" + worker
}

// workerTracers gives each of the named workers the TracerProvider of its
// service (worker.Config.Tracers).
func (p *Platform) workerTracers(names []string) func(worker string) trace.TracerProvider {
	return func(w string) trace.TracerProvider { return p.Tracing.Provider(p.serviceName(w, len(names))) }
}
