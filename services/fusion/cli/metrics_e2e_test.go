package cli

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// TestMetricsEndpoint runs the churn sample with the metrics served on a
// free port and scrapes /metrics over HTTP, as Prometheus would: every
// worker consumed events, each step's records match the run's row counts,
// each step's handler ran once, no dead letters — until a bad file lands,
// whose event sits in ingest's dead-letter queue.
func TestMetricsEndpoint(t *testing.T) {
	home := t.TempDir()
	writePipelines(t, home, map[string]string{"churn.yaml": churnPipeline(t, "churn_lgbm")})
	p := start(t, config.Config{Home: home, LandingPoll: 20 * time.Millisecond, Retries: 1, Concurrency: 2, MetricsAddr: "127.0.0.1:0"})
	deadline := time.Now().Add(10 * time.Second)
	for p.MetricsAddr() == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	url := "http://" + p.MetricsAddr() + "/metrics"
	if p.MetricsAddr() == "" || strings.HasSuffix(p.MetricsAddr(), ":0") {
		t.Fatalf("metrics address %q", p.MetricsAddr())
	}

	_, csv, _ := fusion(t, "sample")
	if r := land(t, p, "landing/churn/customers.csv", csv); r.Status != ledger.Succeeded {
		t.Fatalf("run %+v", r)
	}
	steps := []struct {
		step, worker string
		in, out      float64
	}{
		{"ingest", "ingest", 10000, 10000},
		{"transform", "transform", 10000, 9955},
		{"traindata", "traindata", 9955, 9955},
		{"inference", "inference", 9955, 9955},
		{"load.curated", "loader", 9955, 9955},
		{"load.predictions", "loader", 9955, 9955},
	}
	// The ledger saw the run succeed; the last step's own measurements
	// follow its publish by a hair, so the scrape may be retried.
	eventually(t, url, func(m scraped) []string {
		var problems []string
		want := func(what string, got, want float64) {
			if got != want {
				problems = append(problems, fmt.Sprintf("%s = %v, want %v", what, got, want))
			}
		}
		for _, w := range pipeline.Workers {
			if n := m.value("messaging_client_consumed_messages_total", "worker", w, "queue", w); n <= 0 {
				problems = append(problems, fmt.Sprintf("%s consumed %v events", w, n))
			}
		}
		for _, s := range steps {
			lbl := []string{"worker", s.worker, "step", s.step, "pipeline", "churn"}
			want(s.step+" records in", m.value("fusion_step_records_total", append(lbl, "direction", "in")...), s.in)
			want(s.step+" records out", m.value("fusion_step_records_total", append(lbl, "direction", "out")...), s.out)
			want(s.step+" handler invocations", m.count("messaging_process_duration_seconds", append(lbl, "outcome", "success")...), 1)
			if sum := m.sum("messaging_process_duration_seconds", append(lbl, "outcome", "success")...); sum <= 0 || sum > 60 {
				problems = append(problems, fmt.Sprintf("%s took %vs", s.step, sum))
			}
		}
		want("retries", m.value("fusion_step_retries_total"), 0)
		want("dead-lettered events", m.value("fusion_events_dead_lettered_total"), 0)
		if n := m.count("fusion_queue_lag_seconds", "worker", "ingest"); n < 1 {
			problems = append(problems, fmt.Sprintf("ingest's lag recorded %v times", n))
		}
		// Every queue of the process is reported, and no dead letters.
		queues := append(append([]string{}, pipeline.Workers...), "ledger", "failures", "stream")
		for _, q := range queues {
			if _, ok := m.find("fusion_queue_dlq_depth", "queue", q); !ok {
				problems = append(problems, "no dead-letter depth for "+q)
			}
			if _, ok := m.find("fusion_queue_depth", "queue", q); !ok {
				problems = append(problems, "no depth for "+q)
			}
		}
		want("dead-letter depth", m.value("fusion_queue_dlq_depth"), 0)
		return problems
	})

	// A file that does not match the declared schema fails ingest for
	// good: its event is in ingest's dead-letter queue.
	if r := land(t, p, "landing/churn/bad.csv", "customer_id\n1\n"); r.Status != ledger.Failed {
		t.Fatalf("bad file: run %+v", r)
	}
	eventually(t, url, func(m scraped) []string {
		var problems []string
		if n := m.value("fusion_queue_dlq_depth", "queue", "ingest"); n != 1 {
			problems = append(problems, fmt.Sprintf("ingest dead-letter depth %v, want 1", n))
		}
		if n := m.value("fusion_queue_dlq_depth"); n != 1 {
			problems = append(problems, fmt.Sprintf("dead-letter depth in all %v, want 1", n))
		}
		if n := m.value("fusion_events_dead_lettered_total", "queue", "ingest", "step", "ingest", "pipeline", "churn"); n != 1 {
			problems = append(problems, fmt.Sprintf("dead-lettered by ingest %v, want 1", n))
		}
		if n := m.count("messaging_process_duration_seconds", "step", "ingest", "outcome", "failure"); n != 1 {
			problems = append(problems, fmt.Sprintf("failed ingest invocations %v, want 1", n))
		}
		return problems
	})
}

// writePipelines writes pipeline files into a new home.
func writePipelines(t *testing.T, home string, files map[string]string) {
	t.Helper()
	dir := filepath.Join(home, "pipelines")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// scraped is one scrape of /metrics, by metric family.
type scraped map[string]*dto.MetricFamily

// eventually scrapes url until check finds no problem, for ten seconds at
// most, and reports the last problems otherwise.
func eventually(t *testing.T, url string, check func(scraped) []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := scrape(t, url)
		problems := check(m)
		if len(problems) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics:\n%s", strings.Join(problems, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func scrape(t *testing.T, url string) scraped {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: not Prometheus text: %v", url, err)
	}
	return fams
}

// series returns a family's series whose labels include the given pairs.
func (s scraped) series(name string, labels ...string) []*dto.Metric {
	f, ok := s[name]
	if !ok {
		return nil
	}
	var out []*dto.Metric
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				match = false
			}
		}
		if match {
			out = append(out, m)
		}
	}
	return out
}

func (s scraped) find(name string, labels ...string) (*dto.Metric, bool) {
	ms := s.series(name, labels...)
	if len(ms) == 0 {
		return nil, false
	}
	return ms[0], true
}

// value adds the counters or gauges matching the labels.
func (s scraped) value(name string, labels ...string) float64 {
	var v float64
	for _, m := range s.series(name, labels...) {
		v += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return v
}

// count adds the observations of the histograms matching the labels.
func (s scraped) count(name string, labels ...string) float64 {
	var n float64
	for _, m := range s.series(name, labels...) {
		n += float64(m.GetHistogram().GetSampleCount())
	}
	return n
}

// sum adds the observed values of the histograms matching the labels.
func (s scraped) sum(name string, labels ...string) float64 {
	var v float64
	for _, m := range s.series(name, labels...) {
		v += m.GetHistogram().GetSampleSum()
	}
	return v
}
