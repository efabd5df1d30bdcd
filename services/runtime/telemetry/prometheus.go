package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

// MetricsPath is where a metrics server answers.
const MetricsPath = "/metrics"

// Prometheus is a meter provider read by Prometheus: every scrape of
// Handler collects the provider's instruments, beside the Go runtime's and
// the process's own metrics, in Prometheus's text format. OpenTelemetry
// names become Prometheus names by the exporter's rules (dots to
// underscores, the unit and _total appended: messaging.process.duration in
// seconds is messaging_process_duration_seconds).
//
// Each Prometheus has a registry of its own, not the client library's
// global one, so several live side by side in one process (tests).
type Prometheus struct {
	Provider *sdkmetric.MeterProvider
	Handler  http.Handler
}

// NewPrometheus returns a meter provider with a Prometheus exporter.
func NewPrometheus() (*Prometheus, error) {
	reg := prometheus.NewRegistry()
	if err := errors.Join(
		reg.Register(collectors.NewGoCollector()),
		reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})),
	); err != nil {
		return nil, err
	}
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	// The resource is explicit: the SDK's default would read OTEL_*
	// variables, and only main reads the environment.
	res := resource.NewSchemaless(attribute.String("service.name", "fusion"))
	return &Prometheus{
		Provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithResource(res)),
		Handler:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
	}, nil
}

// Shutdown stops the provider; its instruments record nothing after.
func (p *Prometheus) Shutdown() error { return p.Provider.Shutdown(context.Background()) }
