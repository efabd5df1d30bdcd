package platform

import (
	"fmt"
	"net/http"

	"github.com/fusiondata/fusion/services/runtime/telemetry"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"github.com/fusiondata/fusion/services/runtime/transport/sqsq"
)

// metricsEndpoint is the process's Prometheus exporter and, while Run
// runs, the address it is served on.
type metricsEndpoint struct {
	prom *telemetry.Prometheus // nil when Config.MetricsAddr is empty
	boundAddr
}

// openMetrics gives the workers a Prometheus exporter as their meter
// provider when Config.MetricsAddr is set. Serving it waits for Run, so
// that commands which only read the home (fusion runs, dlq, query) never
// take the port of a `fusion run` beside them.
func (p *Platform) openMetrics() error {
	if p.Config.MetricsAddr == "" {
		return nil
	}
	prom, err := telemetry.NewPrometheus()
	if err != nil {
		return err
	}
	p.metrics.prom, p.Meter = prom, prom.Provider
	p.closer = append(p.closer, prom.Shutdown)
	return nil
}

// serveMetrics serves /metrics on Config.MetricsAddr, when set, until the
// returned stop is called. An address that cannot be listened on fails
// Run: whoever set it expects the metrics there.
func (p *Platform) serveMetrics() (stop func(), err error) {
	if p.metrics.prom == nil {
		return func() {}, nil
	}
	mux := http.NewServeMux()
	mux.Handle(telemetry.MetricsPath, p.metrics.prom.Handler)
	addr, shutdown, err := serve(p.Config.MetricsAddr, mux, p.Log)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	p.metrics.set(addr.String())
	p.Log.Info("metrics served", "url", "http://"+addr.String()+telemetry.MetricsPath)
	return func() {
		p.metrics.set("")
		if err := shutdown(); err != nil {
			p.Log.Warn("metrics server stopped", "error", err.Error())
		}
	}, nil
}

// MetricsAddr is the address /metrics is served on while Run runs (the
// port chosen when Config.MetricsAddr asks for port 0), "" otherwise.
func (p *Platform) MetricsAddr() string { return p.metrics.get() }

// queueStats reports the depth of the tier's queues for the queue gauges:
// SQS's counts on AWS, read at most every Config.MetricsQueuePoll; the
// home's queue file and dead letters on the embedded tier.
func (p *Platform) queueStats() transport.QueueStats {
	switch {
	case p.aws != nil:
		return sqsq.NewQueueStats(p.aws.SQS, p.Config.QueuePrefix, p.Config.MetricsQueuePoll)
	case p.broker != nil && p.meta != nil:
		return homeQueueStats{broker: p.broker, letters: p.meta.DeadLetters()}
	}
	return nil
}
