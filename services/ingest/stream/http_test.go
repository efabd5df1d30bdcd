package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace/noop"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/transport"
)

// endpoint serves the records endpoint on a bench's queue, routed by the
// rules of its pipelines.
func (b *bench) endpoint() *httptest.Server {
	bus := transport.NewRoutedBus(func() (*routing.Table, error) { return routing.NewTable(routing.ForPipelines(b.pipelines.All())) }, b.broker.Publisher())
	mux := http.NewServeMux()
	mux.Handle(RecordsPattern, &Endpoint{Pipelines: b.pipelines, Bus: bus, Tracer: noop.NewTracerProvider().Tracer(""), Now: time.Now})
	srv := httptest.NewServer(mux)
	b.t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url, contentType, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("answer %q: %v", b, err)
	}
	return resp.StatusCode, out
}

// queued takes every stream event off the queue and returns their records.
func (b *bench) queued() (events int, recs []string) {
	b.t.Helper()
	r := b.broker.Batches()
	defer r.Close()
	for {
		got, err := r.Receive(context.Background(), routing.StreamQueue, 100, 10*time.Millisecond)
		if err != nil {
			b.t.Fatal(err)
		}
		if len(got) == 0 {
			return events, recs
		}
		for _, m := range got {
			env, err := messages.Parse(m.Payload)
			if err != nil {
				b.t.Fatal(err)
			}
			d, err := messages.Decode(env)
			if err != nil {
				b.t.Fatal(err)
			}
			events++
			for _, rec := range d.(*messages.StreamRecords).Records {
				recs = append(recs, string(rec))
			}
		}
		r.Ack(context.Background(), routing.StreamQueue, got)
	}
}

func TestRecordsEndpoint(t *testing.T) {
	b := newBench(t, "{}")
	url := b.endpoint().URL + "/v1/streams/clicks/records"

	code, out := post(t, url, "application/json", `{"page":"/a"}`)
	if code != http.StatusAccepted || out["accepted"] != 1.0 {
		t.Errorf("one object: %d %v", code, out)
	}
	code, out = post(t, url, "application/json; charset=utf-8", `[{"page":"/b"}, {"page": "/c"}]`)
	if code != http.StatusAccepted || out["accepted"] != 2.0 {
		t.Errorf("an array: %d %v", code, out)
	}
	code, out = post(t, url, "application/x-ndjson", "{\"page\":\"/d\"}\n{\"page\":\"/e\"}\n")
	if code != http.StatusAccepted || out["accepted"] != 2.0 {
		t.Errorf("JSON lines: %d %v", code, out)
	}
	if events, recs := b.queued(); events != 3 || strings.Join(recs, "") != `{"page":"/a"}{"page":"/b"}{"page":"/c"}{"page":"/d"}{"page":"/e"}` {
		t.Errorf("%d events: %v", events, recs)
	}

	// Many records take as many events as their size needs, in order.
	var lines []string
	for i := 0; i < 3000; i++ {
		lines = append(lines, fmt.Sprintf(`{"page":"/p%d","pad":"%s"}`, i, strings.Repeat("x", 200)))
	}
	code, out = post(t, url, "application/x-ndjson", strings.Join(lines, "\n"))
	if code != http.StatusAccepted || out["accepted"] != 3000.0 || out["events"].(float64) < 3 {
		t.Errorf("3000 records: %d %v", code, out)
	}
	if events, recs := b.queued(); events != int(out["events"].(float64)) || len(recs) != 3000 || recs[2999] != lines[2999] {
		t.Errorf("%d events, %d records", events, len(recs))
	}
}

// Refused requests publish nothing and say why.
func TestRecordsEndpointRefuses(t *testing.T) {
	b := newBench(t, "{}")
	base := b.endpoint().URL + "/v1/streams/"
	huge := `[` + strings.Repeat(`{"page":"`+strings.Repeat("x", 1000)+`"},`, 17000) + `{}]`
	for name, c := range map[string]struct {
		pipeline, contentType, body string
		code                        int
		want                        string
	}{
		"bad record":       {"clicks", "application/json", `[{"page":"/a"}, {"page":"/b"}, "oops", {"page":"/d"}]`, 400, "records[2]: not a JSON object"},
		"bad line":         {"clicks", "application/x-ndjson", "{\"page\":\"/a\"}\n\n{\"page\":}\n", 400, "line 3: not valid JSON"},
		"bad id":           {"clicks", "application/json", `[{"page":"/a"}, {"record_id":[1]}]`, 400, "records[1]: record_id: the record's id must be a string or a number"},
		"unknown pipeline": {"nobody", "application/json", `{"a":1}`, 404, `no pipeline named "nobody"`},
		"not streaming":    {"files", "application/json", `{"a":1}`, 409, "pipeline files does not stream"},
		"content type":     {"clicks", "text/csv", "a\n1\n", 415, `Content-Type "text/csv"`},
		"too large":        {"clicks", "application/json", huge, 413, "the body is over 16777216 bytes"},
		"empty":            {"clicks", "application/json", `[]`, 400, "no records"},
	} {
		code, out := post(t, base+c.pipeline+"/records", c.contentType, c.body)
		if msg, _ := out["error"].(string); code != c.code || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %v, want %d %q", name, code, out, c.code, c.want)
		}
	}
	if events, _ := b.queued(); events != 0 {
		t.Errorf("refused requests published %d events", events)
	}
}

// BenchmarkRecordsEndpoint posts 250 churn-like records per operation onto
// an in-memory queue.
func BenchmarkRecordsEndpoint(b *testing.B) {
	bb := newBench(b, "{}")
	srv := bb.endpoint()
	var recs []string
	for i := 0; i < 250; i++ {
		recs = append(recs, fmt.Sprintf(`{"record_id":"c%d","signup_date":"2022-01-30","country":"es","plan":"basic","monthly_fee":8.49,"tenure_months":57,"sessions_30d":13,"avg_session_minutes":15.9,"support_tickets_90d":0,"payment_failures_90d":0,"last_login_days_ago":2,"discount_pct":null,"churned":false}`, i))
	}
	body := "[" + strings.Join(recs, ",") + "]"
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := http.Post(srv.URL+"/v1/streams/clicks/records", "application/json", strings.NewReader(body))
		if err != nil || resp.StatusCode != 202 {
			b.Fatal(err, resp.StatusCode)
		}
		resp.Body.Close()
	}
	b.ReportMetric(float64(b.N*250)/b.Elapsed().Seconds(), "records/s")
}
