//go:build jobs

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/fusion/sample"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
	"github.com/fusiondata/fusion/services/runtime/scheduler"
)

// TestJobsLambdaDemo: `fusion demo --pipeline clicks` lands two speed
// files, fires the batch layer, lands a third; the serving view shows
// every click once at each stage.
func TestJobsLambdaDemo(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	code, out, errOut := fusion(t, "demo", "--home", home, "--pipeline", "clicks", "--rows", "5000")
	if code != 0 {
		t.Fatalf("demo exited %d\n%s\n%s\n%s", code, out, errOut, readLog(home))
	}
	if n := strings.Count(out, "  ok\n"); n != 4 {
		t.Errorf("%d stages ok, want 4:\n%s", n, out)
	}
	want := sample.ClicksTotals(5000, sample.DefaultSeed)
	if got := query(t, home, "SELECT count(*), count(DISTINCT event_id), count(DISTINCT user_id), sum(duration_ms) FROM clicks_serving"); fmt.Sprint(got) != fmt.Sprintf("[[%d %d %d %d]]", want.Events, want.Events, want.Users, want.DurationMS) {
		t.Errorf("clicks_serving: %v, want %+v", got, want)
	}
	// The recompute came after 4000 clicks: the batch holds them, the speed
	// table the 1000 since.
	if got := query(t, home, "SELECT (SELECT count(*) FROM clicks_batch), (SELECT count(*) FROM clicks_speed), (SELECT watermark FROM fusion_watermarks WHERE view_name = 'clicks_serving')"); fmt.Sprint(got) != fmt.Sprintf("[[4000 1000 %s]]", clickTime(3999)) {
		t.Errorf("layers: %v", got)
	}
}

// TestJobsLambdaServingView runs the clicks pipeline on the embedded tier
// and checks the serving view exactly before any batch, after a batch
// recompute, after more speed rows (files, a late duplicate, streamed
// records), and after a second recompute.
func TestJobsLambdaServingView(t *testing.T) {
	def, err := os.ReadFile("../../../deploy/pipelines/clicks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := embedded(t, map[string]string{"clicks.yaml": string(def)})
	home := p.Config.Home

	speed := func(name string, from, n int64) {
		t.Helper()
		var b bytes.Buffer
		if err := sample.Clicks(&b, from, n, sample.DefaultSeed); err != nil {
			t.Fatal(err)
		}
		if r := land(t, p, "landing/clicks/"+name+".jsonl", b.String()); r.Status != ledger.Succeeded {
			t.Fatalf("%s: run %s %s", name, r.ID, r.Status)
		}
	}
	// stage checks the view against the clicks [0, upTo) and the layers.
	stage := func(name string, upTo int64, batch, speedRows int64, watermark string) {
		t.Helper()
		want := sample.ClicksTotals(upTo, sample.DefaultSeed)
		got := query(t, home, "SELECT count(*), count(DISTINCT event_id), min(event_id), max(event_id), count(DISTINCT user_id), sum(duration_ms) FROM clicks_serving")
		if fmt.Sprint(got) != fmt.Sprintf("[[%d %d 0 %d %d %d]]", want.Events, want.Events, upTo-1, want.Users, want.DurationMS) {
			t.Errorf("%s: clicks_serving (rows, ids, min, max, users, duration) = %v, want clicks 0-%d once: %+v", name, got, upTo-1, want)
		}
		layers := query(t, home, "SELECT (SELECT count(*) FROM clicks_batch), (SELECT count(*) FROM clicks_speed), (SELECT coalesce(max(watermark), 'none') FROM fusion_watermarks WHERE view_name = 'clicks_serving')")
		if fmt.Sprint(layers) != fmt.Sprintf("[[%d %d %s]]", batch, speedRows, watermark) {
			t.Errorf("%s: batch rows, speed rows, watermark = %v, want %d %d %s", name, layers, batch, speedRows, watermark)
		}
	}
	fire := func(at time.Time) ledger.Run {
		t.Helper()
		rq := scheduler.Request("clicks", at)
		env, err := messages.New(rq, at)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Transport.Bus.Publish(context.Background(), env); err != nil {
			t.Fatal(err)
		}
		run := rq.StartRun(env)
		waitSucceeded(t, p, run.RunID)
		r, err := p.Ledger.Run(context.Background(), run.RunID)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// Before any batch the view is the speed layer alone; a file that
	// repeats clicks 250-349 (a redelivered stream batch) counts them once.
	speed("a", 0, 300)
	stage("before any batch", 300, 0, 300, "none")
	speed("b", 300, 300)
	speed("b-again", 250, 100)
	stage("before any batch, more files", 600, 0, 600, "none")

	// The recompute reads the three raw copies (700 lines, 600 clicks) and
	// takes over: nothing counts twice, the speed table is pruned.
	r := fire(time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC))
	if steps := stepNames(r); steps != "ingest transform load.curated" {
		t.Errorf("batch run steps %s", steps)
	}
	if in := rowsIn(r, "ingest"); in != 700 {
		t.Errorf("the recompute read %d rows, want the 700 lines of the history", in)
	}
	stage("after the first recompute", 600, 600, 0, clickTime(599))

	// Speed rows past the watermark count; a late duplicate of an old
	// click (at or before the watermark) changes nothing.
	speed("c", 600, 200)
	speed("late", 100, 1)
	stage("after more speed files", 800, 600, 201, clickTime(599))

	// The speed layer's stream: clicks 800-999 sent as records on the bus
	// (as POST /v1/streams/clicks/records does), sealed into micro-batches
	// under landing/clicks/stream/ that run like landed files.
	var b bytes.Buffer
	if err := sample.Clicks(&b, 800, 200, sample.DefaultSeed); err != nil {
		t.Fatal(err)
	}
	var records []json.RawMessage
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		records = append(records, json.RawMessage(line))
	}
	for _, chunk := range messages.SplitStreamRecords(records) {
		env, err := messages.New(&messages.StreamRecords{Pipeline: "clicks", Records: chunk}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Transport.Bus.Publish(context.Background(), env); err != nil {
			t.Fatal(err)
		}
	}
	streamed := waitStreamed(t, p, 1000)
	stage("after streamed records", 1000, 600, 401, clickTime(599))

	r = fire(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))
	if in := rowsIn(r, "ingest"); in != 1101 {
		t.Errorf("the second recompute read %d rows, want 1101 (%d micro-batches among the history)", in, streamed)
	}
	stage("after the second recompute", 1000, 1000, 0, clickTime(999))

	// The same fire again is the same run: nothing moves.
	before, _ := p.Ledger.Runs(context.Background(), 100)
	fire(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))
	after, _ := p.Ledger.Runs(context.Background(), 100)
	if len(after) != len(before) {
		t.Errorf("a repeated fire made a new run: %d runs, then %d", len(before), len(after))
	}
	stage("after a repeated fire", 1000, 1000, 0, clickTime(999))
}

// waitStreamed waits until the serving view holds n clicks and every run of
// a micro-batch has finished, and returns how many micro-batches ran.
func waitStreamed(t *testing.T, p *platform.Platform, n int64) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		runs, err := p.Ledger.Runs(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		batches, open := 0, 0
		for _, r := range runs {
			if strings.HasPrefix(r.Input, "landing/clicks/"+pipeline.StreamPrefix) {
				batches++
				if r.Status != ledger.Succeeded {
					open++
				}
			}
		}
		got := query(t, p.Config.Home, "SELECT count(*) FROM clicks_serving")
		if batches > 0 && open == 0 && got[0][0] == fmt.Sprint(n) {
			return batches
		}
		if ctx.Err() != nil {
			t.Fatalf("streamed records: %d micro-batch runs, %d not succeeded, the view holds %s clicks, want %d", batches, open, got[0][0], n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clickTime is click i's event time as the watermark spells it.
func clickTime(i int64) string {
	return sample.ClickAt(i, sample.DefaultSeed).EventTime.Format("2006-01-02 15:04:05")
}

func stepNames(r ledger.Run) string {
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Name)
	}
	return strings.Join(names, " ")
}

func rowsIn(r ledger.Run, step string) int64 {
	for _, s := range r.Steps {
		if s.Name == step {
			return s.RowsIn
		}
	}
	return -1
}
