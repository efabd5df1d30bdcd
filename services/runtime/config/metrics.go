package config

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of the metrics settings.
const (
	// DefaultPrometheusPort is the OpenTelemetry SDK's default port for
	// its Prometheus exporter (OTEL_EXPORTER_PROMETHEUS_PORT).
	DefaultPrometheusPort = "9464"
	// DefaultMetricsQueuePoll bounds how often queue depths are read from
	// SQS for the metrics.
	DefaultMetricsQueuePoll = 30 * time.Second
)

// metricsFromEnv reads the metrics settings. FUSION_METRICS_ADDR wins;
// without it, the OpenTelemetry SDK's own variables are honoured:
// OTEL_METRICS_EXPORTER listing prometheus turns the endpoint on at
// OTEL_EXPORTER_PROMETHEUS_HOST (localhost) and _PORT (9464).
func (c *Config) metricsFromEnv(get func(string) string) []error {
	var errs []error
	c.MetricsAddr = get("FUSION_METRICS_ADDR")
	if c.MetricsAddr == "" && slices.Contains(strings.Split(get("OTEL_METRICS_EXPORTER"), ","), "prometheus") {
		host, port := get("OTEL_EXPORTER_PROMETHEUS_HOST"), get("OTEL_EXPORTER_PROMETHEUS_PORT")
		if host == "" {
			host = "localhost"
		}
		if port == "" {
			port = DefaultPrometheusPort
		}
		c.MetricsAddr = net.JoinHostPort(host, port)
	}
	if v := get("FUSION_METRICS_QUEUE_POLL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("FUSION_METRICS_QUEUE_POLL=%q is not a duration", v))
		}
		c.MetricsQueuePoll = d
	}
	return errs
}

func (c *Config) setMetricsDefaults() {
	if c.MetricsQueuePoll == 0 {
		c.MetricsQueuePoll = DefaultMetricsQueuePoll
	}
}

func (c Config) validateMetrics() []error {
	var errs []error
	if c.MetricsAddr != "" {
		_, port, err := net.SplitHostPort(c.MetricsAddr)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			errs = append(errs, fmt.Errorf("FUSION_METRICS_ADDR=%q: use host:port, e.g. 127.0.0.1:9464 (port 0 picks a free one)", c.MetricsAddr))
		}
	}
	if c.MetricsQueuePoll < time.Second {
		errs = append(errs, fmt.Errorf("FUSION_METRICS_QUEUE_POLL must be at least 1s (got %v)", c.MetricsQueuePoll))
	}
	return errs
}
