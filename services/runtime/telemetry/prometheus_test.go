package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// TestPrometheusServesMetrics records on two providers in one process and
// scrapes one over HTTP: OpenTelemetry names in Prometheus's form, its own
// values only, and the Go runtime's metrics beside them.
func TestPrometheusServesMetrics(t *testing.T) {
	var proms [2]*Prometheus
	for i := range proms {
		p, err := NewPrometheus()
		if err != nil {
			t.Fatal(err)
		}
		defer p.Shutdown()
		proms[i] = p
		c, err := p.Provider.Meter("test").Int64Counter("messaging.client.consumed.messages", metric.WithUnit("{message}"))
		if err != nil {
			t.Fatal(err)
		}
		c.Add(context.Background(), int64(7+i), metric.WithAttributes(attribute.String("worker", "ingest")))
	}
	srv := httptest.NewServer(proms[0].Handler)
	defer srv.Close()
	resp, err := http.Get(srv.URL + MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{`messaging_client_consumed_messages_total{`, `worker="ingest"} 7`, "go_goroutines "} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, `worker="ingest"} 8`) {
		t.Error("one provider's values showed on the other's endpoint")
	}
}
