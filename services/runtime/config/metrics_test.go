package config

import (
	"strings"
	"testing"
	"time"
)

func TestMetricsSettings(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil || c.MetricsAddr != "" || c.MetricsQueuePoll != 30*time.Second {
		t.Errorf("defaults: addr %q, poll %v (%v)", c.MetricsAddr, c.MetricsQueuePoll, err)
	}
	c, err = FromEnv(env(map[string]string{"FUSION_METRICS_ADDR": "0.0.0.0:9464", "FUSION_METRICS_QUEUE_POLL": "10s",
		"OTEL_METRICS_EXPORTER": "prometheus", "OTEL_EXPORTER_PROMETHEUS_PORT": "1"}))
	if err != nil || c.MetricsAddr != "0.0.0.0:9464" || c.MetricsQueuePoll != 10*time.Second {
		t.Errorf("FUSION_METRICS_*: addr %q, poll %v (%v)", c.MetricsAddr, c.MetricsQueuePoll, err)
	}
	// The OpenTelemetry SDK's variables, when fusion's is not set.
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"OTEL_METRICS_EXPORTER": "prometheus"}, "localhost:9464"},
		{map[string]string{"OTEL_METRICS_EXPORTER": "otlp,prometheus", "OTEL_EXPORTER_PROMETHEUS_HOST": "0.0.0.0", "OTEL_EXPORTER_PROMETHEUS_PORT": "9100"}, "0.0.0.0:9100"},
		{map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_PROMETHEUS_PORT": "9100"}, ""},
	} {
		got, err := FromEnv(env(c.env))
		if err != nil || got.MetricsAddr != c.want {
			t.Errorf("%v: addr %q, want %q (%v)", c.env, got.MetricsAddr, c.want, err)
		}
	}
	for _, bad := range []map[string]string{
		{"FUSION_METRICS_ADDR": "9464"},
		{"FUSION_METRICS_ADDR": "localhost:http-alt"},
		{"FUSION_METRICS_QUEUE_POLL": "100ms"},
		{"FUSION_METRICS_QUEUE_POLL": "often"},
	} {
		if _, err := FromEnv(env(bad)); err == nil || !strings.Contains(err.Error(), "FUSION_METRICS_") {
			t.Errorf("%v: %v", bad, err)
		}
	}
}
