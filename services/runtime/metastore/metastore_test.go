package metastore

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/catalog"
	"github.com/fusiondata/fusion/services/runtime/ledger"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "fusion.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCatalogRegisterIsIdempotent(t *testing.T) {
	s, ctx := open(t), context.Background()
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	d := catalog.Dataset{Name: "churn.curated", RunID: "r1", Pipeline: "churn", Zone: "curated", Format: "parquet",
		Objects: []string{"curated/churn/r1/part-0.parquet"}, Schema: []messages.Column{{Name: "id", Type: "BIGINT"}}, Rows: 10, Bytes: 99, Producer: "transform", CreatedAt: t0}
	for i := 0; i < 3; i++ {
		if err := s.Register(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	d2 := d
	d2.RunID, d2.Rows, d2.CreatedAt = "r2", 12, t0.Add(time.Hour)
	if err := s.Register(ctx, d2); err != nil {
		t.Fatal(err)
	}
	all, err := s.Datasets(ctx, "churn.curated")
	if err != nil || len(all) != 2 {
		t.Fatalf("%d versions, %v", len(all), err)
	}
	latest, err := s.Latest(ctx, "churn.curated")
	if err != nil || latest.RunID != "r2" || latest.Rows != 12 {
		t.Errorf("latest %+v %v", latest, err)
	}
	got, err := s.Get(ctx, "churn.curated", "r1")
	if err != nil || got.Schema[0].Name != "id" || got.Objects[0] != d.Objects[0] || !got.CreatedAt.Equal(t0) {
		t.Errorf("get %+v %v", got, err)
	}
	if _, err := s.Get(ctx, "churn.curated", "nope"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
}

const run = "20261121-151600-3fa9c2"

func step(name string, start time.Time, attempt int) messages.StepEvent {
	return messages.StepEvent{RunRef: messages.RunRef{RunID: run, Pipeline: "churn"}, Step: name, Worker: name, Attempt: attempt, StartedAt: start,
		TraceContext: messages.TraceContext{Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
}

func TestLedgerIsOrderInsensitiveAndIdempotent(t *testing.T) {
	s, ctx := open(t), context.Background()
	expected := []string{"ingest", "transform"}
	t0 := time.Date(2026, 11, 21, 15, 16, 0, 0, time.UTC)
	ing := step("ingest", t0, 1)
	ing.Input = "landing/churn/a.csv"
	done := ing
	done.DurationMS, done.RowsIn, done.RowsOut = 200, 10, 10
	// succeeded arrives before started, and both arrive twice.
	for _, e := range []struct {
		status string
		ev     messages.StepEvent
	}{{ledger.Succeeded, done}, {ledger.Started, ing}, {ledger.Succeeded, done}, {ledger.Started, ing}} {
		if err := s.Record(ctx, e.status, e.ev, ledger.Plan{Steps: expected}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := s.Run(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != ledger.Running || len(r.Steps) != 2 || r.Steps[0].Status != ledger.Succeeded || r.Steps[0].RowsOut != 10 || r.Steps[1].Status != ledger.Pending {
		t.Fatalf("after ingest: %+v", r)
	}
	if r.Input != "landing/churn/a.csv" || r.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("run input %q trace %q", r.Input, r.TraceID)
	}

	// transform fails once (attempt 1) then succeeds on a later attempt.
	tr1 := step("transform", t0.Add(time.Second), 1)
	tr1.Error = &messages.StepError{Message: "boom"}
	tr2 := step("transform", t0.Add(2*time.Second), 2)
	tr2.DurationMS = 1000
	for _, e := range []struct {
		status string
		ev     messages.StepEvent
	}{{ledger.Started, tr2}, {ledger.Succeeded, tr2}, {ledger.Failed, tr1}} {
		if err := s.Record(ctx, e.status, e.ev, ledger.Plan{}); err != nil {
			t.Fatal(err)
		}
	}
	r, _ = s.Run(ctx, run)
	if r.Status != ledger.Succeeded || r.Steps[1].Attempt != 2 || r.Steps[0].Status != ledger.Succeeded {
		t.Fatalf("after transform: %+v", r)
	}
	if want := t0.Add(3 * time.Second); !r.FinishedAt.Equal(want) || r.Duration() != 3*time.Second {
		t.Errorf("finished %v, duration %v", r.FinishedAt, r.Duration())
	}
	byInput, err := s.RunForInput(ctx, "landing/churn/a.csv")
	if err != nil || byInput.ID != run {
		t.Errorf("run for input: %+v %v", byInput.ID, err)
	}
	runs, err := s.Runs(ctx, 10)
	if err != nil || len(runs) != 1 {
		t.Errorf("runs %v %v", runs, err)
	}
}

// Two deliveries of one event run a step twice at once; the second is
// abandoned (its process killed, or its event found handled by then). Its
// start, newer than the first's success, arrives before or after it: the
// step is succeeded either way, and a late failure does not reopen it.
func TestLedgerSuccessIsFinal(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 15, 16, 0, 0, time.UTC)
	first, dup := step("ingest", t0, 1), step("ingest", t0.Add(time.Second), 1)
	for name, order := range map[string][]string{"success first": {"ok", "dup"}, "duplicate first": {"dup", "ok"}} {
		s, ctx := open(t), context.Background()
		for _, o := range order {
			var err error
			if o == "ok" {
				err = s.Record(ctx, ledger.Succeeded, first, ledger.Plan{Steps: []string{"ingest"}})
			} else {
				err = s.Record(ctx, ledger.Started, dup, ledger.Plan{})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		late := step("ingest", t0.Add(2*time.Second), 2)
		late.Error = &messages.StepError{Message: "lake: copy landing/churn/a.csv: object not found"}
		if err := s.Record(ctx, ledger.Failed, late, ledger.Plan{}); err != nil {
			t.Fatal(err)
		}
		r, err := s.Run(ctx, run)
		if err != nil || r.Status != ledger.Succeeded || r.Steps[0].Status != ledger.Succeeded || !r.Steps[0].StartedAt.Equal(t0) {
			t.Errorf("%s: %+v %v", name, r, err)
		}
	}
}

func TestLedgerFailedRun(t *testing.T) {
	s, ctx := open(t), context.Background()
	ev := step("ingest", time.Now(), 1)
	ev.Pipeline = "" // an object no pipeline claims
	ev.Error = &messages.StepError{Message: "no pipeline watches landing/x/y.csv", Permanent: true}
	if err := s.Record(ctx, ledger.Failed, ev, ledger.Plan{}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(ctx, run)
	if err != nil || r.Status != ledger.Failed || r.Steps[0].Error.Message == "" {
		t.Errorf("%+v %v", r, err)
	}
	if _, err := s.Run(ctx, "20261121-000000-000000"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}
}
