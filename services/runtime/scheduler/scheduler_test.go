package scheduler

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/metastore"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"github.com/fusiondata/fusion/services/runtime/transport/inproc"
)

// t0 is a due time of every schedule below.
var t0 = time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)

func def(name, schedule string) string {
	return fmt.Sprintf("name: %s\nsource: {prefix: incoming/%s/}\nschedule: %s\ntransform: {sql: SELECT * FROM input}\n", name, name, schedule)
}

// rig is a scheduler on a real metastore and real embedded queues routed
// by the pipelines' rules; the test owns the clock.
type rig struct {
	s     *Scheduler
	store *metastore.Store
	batch *inproc.Batches
	now   time.Time
	logs  bytes.Buffer
}

func newRig(t *testing.T, maxCatchUp int, defs ...string) *rig {
	t.Helper()
	var ps []*pipeline.Pipeline
	for i, d := range defs {
		p, err := pipeline.Parse(fmt.Sprintf("p%d.yaml", i), []byte(d))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	table, err := routing.NewTable(routing.ForPipelines(ps))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store, err := metastore.Open(filepath.Join(dir, "fusion.db"))
	if err != nil {
		t.Fatal(err)
	}
	broker, err := inproc.Open(filepath.Join(dir, "queue.db"), inproc.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{store: store, batch: broker.Batches()}
	t.Cleanup(func() { r.batch.Close(); broker.Close(); store.Close() })
	r.s, err = New(Config{
		Pipelines:  func() []*pipeline.Pipeline { return ps },
		State:      store,
		Bus:        transport.NewRoutedBus(func() (*routing.Table, error) { return table, nil }, broker.Publisher()),
		Now:        func() time.Time { return r.now },
		Log:        slog.New(slog.NewTextHandler(&r.logs, nil)),
		MaxCatchUp: maxCatchUp,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) mark(t *testing.T, name string, at time.Time) {
	t.Helper()
	if err := r.store.SetScheduleMark(context.Background(), name, at); err != nil {
		t.Fatal(err)
	}
}

// fired takes the ingest requests waiting on the ingest queue, as
// "pipeline request_id" in queue order.
func (r *rig) fired(t *testing.T) []string {
	t.Helper()
	held, err := r.batch.Receive(context.Background(), "ingest", 1000, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range held {
		env, err := messages.Parse(h.Payload)
		if err != nil {
			t.Fatal(err)
		}
		d, err := messages.Decode(env)
		if err != nil {
			t.Fatal(err)
		}
		rq := d.(*messages.IngestRequested)
		if rq.RequestedBy != RequestedBy || !env.Time.Equal(mustScheduled(t, rq.RequestID)) {
			t.Errorf("request %+v at %s", rq, env.Time)
		}
		out = append(out, rq.Pipeline+" "+rq.RequestID)
	}
	if err := r.batch.Ack(context.Background(), "ingest", held); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustScheduled(t *testing.T, id string) time.Time {
	at, ok := messages.ScheduledTime(id)
	if !ok {
		t.Fatalf("%q is not a scheduled request id", id)
	}
	return at
}

func ids(name string, times ...time.Time) []string {
	var out []string
	for _, at := range times {
		out = append(out, name+" "+pipeline.RequestID(at))
	}
	return out
}

func (r *rig) markOf(t *testing.T, name string) time.Time {
	t.Helper()
	m, ok, err := r.store.ScheduleMark(context.Background(), name)
	if err != nil || !ok {
		t.Fatalf("mark of %s: %v %v", name, ok, err)
	}
	return m
}

// A pipeline seen for the first time fires nothing from before: its mark
// starts at now, and the next due time fires.
func TestFirstSightStartsFromNow(t *testing.T) {
	r := newRig(t, 0, def("sales", `{expression: "cron(0 2 * * ? *)", missed: catch_up}`), "name: plain\nsource: {prefix: incoming/plain/}\ntransform: {sql: SELECT 1}\n")
	r.now = t0.Add(-90 * time.Second)
	r.s.Check(context.Background())
	if got := r.fired(t); len(got) != 0 {
		t.Fatalf("fired %v", got)
	}
	if m := r.markOf(t, "sales"); !m.Equal(t0.Add(-2 * time.Minute)) {
		t.Errorf("mark %s", m)
	}
	if _, ok, _ := r.store.ScheduleMark(context.Background(), "plain"); ok {
		t.Error("a pipeline without a schedule got a mark")
	}
	r.now = t0.Add(time.Second)
	r.s.Check(context.Background())
	r.s.Check(context.Background())
	if got := r.fired(t); fmt.Sprint(got) != fmt.Sprint(ids("sales", t0)) {
		t.Errorf("fired %v", got)
	}
	if m := r.markOf(t, "sales"); !m.Equal(t0) {
		t.Errorf("mark %s after the fire", m)
	}
}

// At start, fires missed while fusion was down fire oldest first
// (catch_up) or not at all (skip); the on-time fire fires either way.
func TestMissedFiresAtStart(t *testing.T) {
	r := newRig(t, 0,
		def("hourly", `{expression: "rate(1 hour)", missed: catch_up}`),
		def("nightly", `{expression: "cron(0 2 * * ? *)", timezone: UTC, missed: catch_up}`),
		def("skipper", `{expression: "cron(0 * * * ? *)"}`))
	r.mark(t, "hourly", t0.Add(-3*time.Hour))
	r.mark(t, "nightly", t0.Add(-3*24*time.Hour))
	r.mark(t, "skipper", t0.Add(-5*time.Hour))
	r.now = t0.Add(30 * time.Minute)
	r.s.Check(context.Background())
	want := append(ids("hourly", t0.Add(-2*time.Hour), t0.Add(-time.Hour), t0),
		ids("nightly", t0.Add(-2*24*time.Hour), t0.Add(-24*time.Hour), t0)...)
	if got := r.fired(t); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("fired\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if m := r.markOf(t, "skipper"); !m.Equal(t0) {
		t.Errorf("skipper's mark %s, want the last skipped fire %s", m, t0)
	}
	if !strings.Contains(r.logs.String(), "missed fires skipped") || !strings.Contains(r.logs.String(), "skipped=5") {
		t.Errorf("skips not logged:\n%s", r.logs.String())
	}
	// Running on: the next due times fire, on every policy.
	r.now = t0.Add(time.Hour + time.Second)
	r.s.Check(context.Background())
	if got := r.fired(t); fmt.Sprint(got) != fmt.Sprint(append(ids("hourly", t0.Add(time.Hour)), ids("skipper", t0.Add(time.Hour))...)) {
		t.Errorf("fired %v", got)
	}
}

// A fire found at start within the grace is on time, even when skipping.
func TestOnTimeFireAtStartFires(t *testing.T) {
	r := newRig(t, 0, def("skipper", `{expression: "cron(0 * * * ? *)", missed: skip}`))
	r.mark(t, "skipper", t0.Add(-2*time.Hour))
	r.now = t0.Add(20 * time.Second)
	r.s.Check(context.Background())
	if got := r.fired(t); fmt.Sprint(got) != fmt.Sprint(ids("skipper", t0)) {
		t.Errorf("fired %v", got)
	}
}

// Catching up is bounded: the latest fires fire, the older are dropped
// and logged.
func TestCatchUpIsBounded(t *testing.T) {
	r := newRig(t, 3, def("hourly", `{expression: "rate(1 hour)", missed: catch_up}`))
	r.mark(t, "hourly", t0.Add(-10*time.Hour))
	r.now = t0.Add(5 * time.Minute)
	r.s.Check(context.Background())
	if got := r.fired(t); fmt.Sprint(got) != fmt.Sprint(ids("hourly", t0.Add(-2*time.Hour), t0.Add(-time.Hour), t0)) {
		t.Errorf("fired %v", got)
	}
	if !strings.Contains(r.logs.String(), "dropped=7") {
		t.Errorf("drops not logged:\n%s", r.logs.String())
	}
}

// The fire-then-record order: a crash after the fire and before the mark
// moves fires the same due time again at the next start — the same event
// (one id, one identity) and the same run, which the ingest worker's
// handled marks then acknowledge without a second run.
func TestRefireAfterACrashIsTheSameRequest(t *testing.T) {
	r := newRig(t, 0, def("nightly", `{expression: "cron(0 2 * * ? *)", missed: catch_up}`))
	r.mark(t, "nightly", t0.Add(-24*time.Hour))
	r.now = t0.Add(10 * time.Second)
	p := r.s.cfg.Pipelines()[0]
	run, err := r.s.Fire(context.Background(), p, t0) // fired; then the process dies before the mark moves
	if err != nil {
		t.Fatal(err)
	}
	first, _ := r.batch.Receive(context.Background(), "ingest", 10, 50*time.Millisecond)
	r.batch.Ack(context.Background(), "ingest", first)

	restarted, err := New(r.s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	restarted.Check(context.Background())
	again, _ := r.batch.Receive(context.Background(), "ingest", 10, 50*time.Millisecond)
	if len(first) != 1 || len(again) != 1 || first[0].ID != again[0].ID {
		t.Fatalf("first %v, again %v: want one event each, the same id", first, again)
	}
	env, _ := messages.Parse(again[0].Payload)
	d, _ := messages.Decode(env)
	rq := d.(*messages.IngestRequested)
	if rq.StartRun(env) != run || !strings.HasPrefix(run.RunID, "20261121-020000-") {
		t.Errorf("refire starts %v, the fire %v", rq.StartRun(env), run)
	}
	if m := r.markOf(t, "nightly"); !m.Equal(t0) {
		t.Errorf("mark %s", m)
	}
}

// Marks never move back.
func TestMarkNeverMovesBack(t *testing.T) {
	r := newRig(t, 0)
	r.mark(t, "p", t0)
	r.mark(t, "p", t0.Add(-time.Hour))
	if m := r.markOf(t, "p"); !m.Equal(t0) {
		t.Errorf("mark %s", m)
	}
}
