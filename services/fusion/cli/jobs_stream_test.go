//go:build jobs

package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/fusion/sample"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
	"github.com/fusiondata/fusion/services/runtime/routing"
)

// ticks streams sensor readings with their own ids; events streams
// records without ids, which get derived ones.
const (
	ticksPipeline = `name: ticks
source:
  format: jsonl
  schema: [{name: tick_id, type: VARCHAR, required: true}, {name: sensor, type: VARCHAR}, {name: value, type: DOUBLE}]
stream: {max_records: 10, max_wait: 300ms, id_field: tick_id}
transform: {sql: "SELECT tick_id, sensor, value * 2 AS doubled FROM input"}
load: [{dataset: curated, table: ticks, keys: [tick_id], mode: merge}]
`
	eventsPipeline = `name: events
source: {format: jsonl}
stream: {max_records: 50, max_wait: 200ms}
transform: {sql: "SELECT * FROM input"}
load: [{dataset: curated, table: events, keys: [record_id], mode: merge}]
`
)

// streaming runs every worker with its HTTP endpoints on a loopback port,
// on a new home with the given pipelines, and returns the platform and a
// client of its endpoints.
func streaming(t *testing.T, pipelines map[string]string) (*platform.Platform, *streamClient) {
	t.Helper()
	home := t.TempDir()
	dir := filepath.Join(home, "pipelines")
	os.MkdirAll(dir, 0o755)
	for name, body := range pipelines {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := start(t, config.Config{Home: home, LandingPoll: 20 * time.Millisecond, Retries: 1, Concurrency: 2, HTTPAddr: "127.0.0.1:0"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addr, err := waitHTTP(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return p, newStreamClient(addr)
}

func ticks(from, to int) []json.RawMessage {
	var out []json.RawMessage
	for i := from; i < to; i++ {
		out = append(out, json.RawMessage(fmt.Sprintf(`{"tick_id":"t%04d","sensor":"s%d","value":%d.5}`, i, i%3, i)))
	}
	return out
}

func postAll(t *testing.T, c *streamClient, pipelineName string, records []json.RawMessage) {
	t.Helper()
	n, err := c.post(context.Background(), pipelineName, records)
	if err != nil || n != len(records) {
		t.Fatalf("POST %d records: %d accepted, %v", len(records), n, err)
	}
}

// loaded waits until the pipeline's micro-batches have ingested n records
// and finished, and checks every run succeeded.
func loaded(t *testing.T, p *platform.Platform, name string, n int) streamRuns {
	t.Helper()
	pl, err := p.Pipelines.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	runs, err := waitStreamRuns(ctx, p, pl, int64(n))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs.Runs {
		if r.Status != ledger.Succeeded {
			t.Fatalf("run %s of %s: %s %+v", r.ID, r.Input, r.Status, r.Steps)
		}
	}
	return runs
}

// quiet waits until every queue of the embedded tier is empty — every
// stream record sealed, every step done, every step event in the ledger —
// and no run is running; then returns the pipeline's micro-batch runs.
func quiet(t *testing.T, p *platform.Platform, name string) streamRuns {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		busy := 0
		for _, q := range append([]string{routing.StreamQueue, routing.LedgerQueue}, pipeline.Workers...) {
			busy += p.Broker().Pending(q)
		}
		if busy == 0 {
			runs := loaded(t, p, name, 0)
			running := false
			for _, r := range runs.Runs {
				running = running || r.Status == ledger.Running
			}
			if !running && p.Broker().Pending(routing.StreamQueue)+p.Broker().Pending(pipeline.WorkerIngest) == 0 {
				return runs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d messages in the queues", busy)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// batchRecords are the records each micro-batch ingested, in seal order.
func batchRecords(runs streamRuns) []int64 {
	var out []int64
	for _, r := range runs.Runs {
		for _, s := range r.Steps {
			if s.Name == "ingest" {
				out = append(out, s.RowsIn)
			}
		}
	}
	return out
}

// `fusion demo --pipeline churn_stream` posts the churn sample, loads every
// customer once, and scores in real time exactly as the batch path did;
// the stream's scores are lightgbm's own for the same customers.
func TestJobsStreamDemo(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	const rows = 3000
	code, out, errOut := fusion(t, "demo", "--pipeline", "churn_stream", "--home", home, "--rows", strconv.Itoa(rows))
	if code != 0 {
		t.Fatalf("demo exited %d\n%s\n%s\n%s", code, out, errOut, readLog(home))
	}
	// How many micro-batches depends on how fast the POSTs come (a batch
	// seals at 1000 records or 1s): not asserted.
	for _, want := range []string{"posted      3000 records in 12 requests of 250", "micro-batches sealed (max_records 1000, max_bytes 1048576, max_wait 1s)",
		"latency     POST -> row in the warehouse: p50 ", "real time   200 records scored one by one", "max |real-time - batch score| "} { // the demo fails beyond 1e-9
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	records, err := sample.ChurnRecords(rows, sample.DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	var paying []string
	for _, r := range records {
		var f struct {
			ID  int64   `json:"customer_id"`
			Fee float64 `json:"monthly_fee"`
		}
		json.Unmarshal(r, &f)
		if f.Fee > 0 {
			paying = append(paying, strconv.FormatInt(f.ID, 10))
		}
	}
	want := fmt.Sprintf("%d,%d,%d", len(paying), len(paying), len(paying))
	if got := query(t, home, "SELECT count(*), count(DISTINCT customer_id), (SELECT count(*) FROM churn_stream_predictions) FROM churn_stream_customers"); strings.Join(got[0], ",") != want {
		t.Errorf("warehouse %v, want %s (customers, distinct, scores)", got, want)
	}
	if !strings.Contains(out, fmt.Sprintf("warehouse   %d customers in churn_stream_customers (%d distinct), %d scores", len(paying), len(paying), len(paying))) {
		t.Errorf("summary:\n%s", out)
	}
	ref := reference(t)
	worst := 0.0
	for _, row := range query(t, home, "SELECT customer_id, score FROM churn_stream_predictions") {
		s, _ := strconv.ParseFloat(row[1], 64)
		r, ok := ref[row[0]]
		if !ok {
			t.Fatalf("customer %s has no reference prediction", row[0])
		}
		worst = math.Max(worst, math.Abs(s-r[0]))
	}
	if worst > 1e-6 {
		t.Errorf("streamed scores differ from lightgbm's by up to %g", worst)
	}
	// The curated rows are the batch path's: the same transform as churn.
	if got := query(t, home, "SELECT signup_date, country, plan, plan_tier, net_monthly_fee, tenure_months, discount_pct FROM churn_stream_customers WHERE customer_id = 100000"); strings.Join(got[0], ",") != "2022-01-30,ES,basic,0,8.49,57,0" {
		t.Errorf("customer 100000: %v", got)
	}
}

// Every record once in the warehouse: posted once, a batch of them posted
// three times, sent directly as a stream event on the bus, with ids of
// their own or derived ones.
func TestJobsStreamEachRecordOnce(t *testing.T) {
	p, c := streaming(t, map[string]string{"ticks.yaml": ticksPipeline, "events.yaml": eventsPipeline})
	postAll(t, c, "ticks", ticks(0, 40))
	for i := 0; i < 3; i++ {
		postAll(t, c, "ticks", ticks(40, 55)) // the same batch three times
	}
	// Straight onto the bus, overlapping what was posted.
	direct := &messages.StreamRecords{Pipeline: "ticks", Records: ticks(50, 70)}
	env, err := messages.New(direct, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Transport.Bus.Publish(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	// Records without ids: the same record twice is one record, its id the
	// SHA-256 of its canonical JSON (these records are written canonical).
	var evs []json.RawMessage
	ids := map[string]bool{}
	for i := 0; i < 120; i++ {
		r := fmt.Sprintf(`{"n":%d,"page":"/p%d","user":"u%d"}`, i%60, i%60, i%60)
		evs = append(evs, json.RawMessage(r))
		sum := sha256.Sum256([]byte(r))
		ids[hex.EncodeToString(sum[:])] = true
	}
	postAll(t, c, "events", evs[:60])
	postAll(t, c, "events", evs[60:]) // the same 60 again, in other requests

	tr := quiet(t, p, "ticks")
	er := quiet(t, p, "events")
	if got := query(t, p.Config.Home, "SELECT count(*), count(DISTINCT tick_id), sum(doubled) FROM ticks"); fmt.Sprint(got) != "[[70 70 4900]]" {
		t.Errorf("ticks %v, want 70 distinct ticks once each", got)
	}
	if got := query(t, p.Config.Home, "SELECT count(*), count(DISTINCT record_id), count(DISTINCT page) FROM events"); fmt.Sprint(got) != "[[60 60 60]]" {
		t.Errorf("events %v, want 60 records once each", got)
	}
	for _, row := range query(t, p.Config.Home, "SELECT record_id FROM events") {
		if !ids[row[0]] {
			t.Errorf("record id %s is no record's SHA-256", row[0])
		}
	}
	t.Logf("ticks: %d micro-batches %v; events: %d micro-batches %v", len(tr.Runs), batchRecords(tr), len(er.Runs), batchRecords(er))
}

// A request with one bad record is refused whole, naming the record; none
// of its records ever land.
func TestJobsStreamBadRecordLandsNothing(t *testing.T) {
	p, c := streaming(t, map[string]string{"ticks.yaml": ticksPipeline})
	bad := ticks(100, 110)
	bad[6] = json.RawMessage(`{"tick_id":"t0106","sensor":"s1","value":"warm"}`)
	_, err := c.post(context.Background(), "ticks", bad)
	var he *httpError
	if !errors.As(err, &he) || he.Status != http.StatusBadRequest || !strings.Contains(he.Msg, `records[6]: value: "warm" is not a valid DOUBLE`) {
		t.Fatalf("a bad record: %v", err)
	}
	lines := `{"tick_id":"t0200","value":1}` + "\n" + `{"tick_id":"t0201","value":` + "\n"
	err = c.do(context.Background(), http.MethodPost, "/v1/streams/ticks/records", "application/x-ndjson", []byte(lines), http.StatusAccepted, &struct{}{})
	if !errors.As(err, &he) || he.Status != http.StatusBadRequest || !strings.Contains(he.Msg, "line 2: not valid JSON") {
		t.Fatalf("a bad line: %v", err)
	}
	postAll(t, c, "ticks", ticks(0, 10))
	runs := loaded(t, p, "ticks", 10)
	if got := query(t, p.Config.Home, "SELECT count(*), min(tick_id), max(tick_id) FROM ticks"); fmt.Sprint(got) != "[[10 t0000 t0009]]" {
		t.Errorf("ticks %v: something of the refused requests landed", got)
	}
	if len(runs.Runs) != 1 {
		t.Errorf("%d micro-batches", len(runs.Runs))
	}
	if n := p.Broker().Depth("stream"); n != 0 {
		t.Errorf("%d stream events waiting", n)
	}
}

// Micro-batches seal by count (max_records 10) and by wait (300ms after
// their first record): 25 records are 10, 10 and, after the wait, 5.
func TestJobsStreamSealsByCountAndWait(t *testing.T) {
	p, c := streaming(t, map[string]string{"ticks.yaml": ticksPipeline})
	postAll(t, c, "ticks", ticks(0, 25))
	runs := loaded(t, p, "ticks", 25)
	if got := batchRecords(runs); fmt.Sprint(got) != "[10 10 5]" {
		t.Errorf("micro-batches of %v records, want [10 10 5]", got)
	}
	postAll(t, c, "ticks", ticks(25, 28))
	runs = loaded(t, p, "ticks", 28)
	if got := batchRecords(runs); fmt.Sprint(got) != "[10 10 5 3]" {
		t.Errorf("micro-batches of %v records, want [10 10 5 3]", got)
	}
	// Each sealed object is a landed file of the pipeline, kept in raw.
	for _, r := range runs.Runs {
		if !strings.HasPrefix(r.Input, "landing/ticks/stream/") || !strings.HasSuffix(r.Input, ".jsonl") {
			t.Errorf("run %s of %s", r.ID, r.Input)
		}
		raw, err := p.Lake.List(context.Background(), "raw/ticks/"+r.ID+"/")
		if err != nil || len(raw) != 2 {
			t.Errorf("raw of %s: %v %v", r.ID, raw, err)
		}
	}
	if objs, _ := p.Lake.List(context.Background(), "landing/ticks/"); len(objs) != 0 {
		t.Errorf("landing not emptied: %v", objs)
	}
}

// A record scored in real time gets the score the batch path loaded for it.
func TestJobsStreamRealtimeEqualsBatch(t *testing.T) {
	def, err := os.ReadFile("../../../deploy/pipelines/churn_stream.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, c := streaming(t, map[string]string{"churn_stream.yaml": string(def)})
	records, err := sample.ChurnRecords(600, 7)
	if err != nil {
		t.Fatal(err)
	}
	postAll(t, c, "churn_stream", records)
	loaded(t, p, "churn_stream", len(records))
	pl, _ := p.Pipelines.Get("churn_stream")
	scored, worst, err := scoreSome(context.Background(), c, p.Deps.Warehouse, pl, records, len(records))
	if err != nil {
		t.Fatal(err)
	}
	if n := query(t, p.Config.Home, "SELECT count(*) FROM churn_stream_predictions"); strconv.Itoa(scored) != n[0][0] || scored < 590 {
		t.Errorf("%d scored in real time, %s in the warehouse", scored, n[0][0])
	}
	if worst > 1e-9 {
		t.Errorf("real-time scores differ from the batch scores by up to %g", worst)
	}
	l, err := c.latency(context.Background(), "churn_stream")
	if err != nil || l.Count != scored || l.P50MS <= 0 || l.P99MS < l.P50MS {
		t.Errorf("latency %+v %v", l, err)
	}
}
