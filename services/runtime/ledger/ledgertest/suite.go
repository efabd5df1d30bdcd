// Package ledgertest is the conformance suite every run ledger passes (the
// home's SQLite metastore, DynamoDB on the aws tier): step events applied
// in any order and any number of times give the same history, a success is
// final, concurrent writers through separate handles lose nothing, runs are
// listed newest first and found by input, and each run past its deadline
// is announced exactly once, across handles and restarts.
package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/ledger"
)

// NewStore returns a new, empty store for one test, and a function that
// opens another handle on the same store: what a second process (or a
// restarted one) would see, with its own connection or client.
type NewStore func(t *testing.T) (s ledger.Store, another func() ledger.Store)

// Run runs the suite.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, NewStore)
	}{
		{"OrderInsensitiveAndIdempotent", orderInsensitive},
		{"SuccessIsFinal", successIsFinal},
		{"FailedAndUnknownRuns", failedAndUnknown},
		{"RunsNewestFirstAndByInput", listing},
		{"ConcurrentWritersLoseNothing", concurrentWriters},
		{"OverdueRuns", overdue},
		{"LateNoticeClaimedOnce", claimedOnce},
		{"LateCheckersPublishOnce", checkersPublishOnce},
		{"LateNoticeRepublishedAfterACrash", republishedAfterCrash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore) })
	}
}

var t0 = time.Date(2026, 11, 21, 15, 16, 0, 0, time.UTC)

var (
	runBase = rand.Int64N(1 << 23)
	runSeq  atomic.Int64
)

// newRunID returns a run id of its own for each run of a test, so that
// stores shared between tests keep them apart.
func newRunID() string {
	return fmt.Sprintf("20261121-151600-%06x", (runBase+runSeq.Add(1))&0xffffff)
}

type event struct {
	status string
	ev     messages.StepEvent
}

func step(run, name string, start time.Time, attempt int) messages.StepEvent {
	return messages.StepEvent{RunRef: messages.RunRef{RunID: run, Pipeline: "churn"}, Step: name, Worker: name, Attempt: attempt, StartedAt: start,
		TraceContext: messages.TraceContext{Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
}

// history is a run's events: ingest, a transform that fails once and then
// succeeds, and a load; the start of each attempt and its outcome.
func history(run, input string) []event {
	ing := step(run, "ingest", t0, 1)
	ing.Input = input
	ingDone := ing
	ingDone.DurationMS, ingDone.RowsIn, ingDone.RowsOut, ingDone.Bytes = 200, 10, 10, 999
	tr1 := step(run, "transform", t0.Add(time.Second), 1)
	tr1.Input = "churn.raw"
	tr1Failed := tr1
	tr1Failed.DurationMS, tr1Failed.Error = 50, &messages.StepError{Message: "boom", File: "x.csv", Line: 3}
	tr2 := step(run, "transform", t0.Add(2*time.Second), 2)
	tr2.Input = "churn.raw"
	tr2Done := tr2
	tr2Done.DurationMS, tr2Done.RowsIn, tr2Done.RowsOut = 1000, 10, 9
	ld := step(run, "load.curated", t0.Add(4*time.Second), 1)
	ld.Worker = "loader"
	ldDone := ld
	ldDone.DurationMS, ldDone.RowsIn, ldDone.RowsOut = 500, 9, 9
	return []event{
		{ledger.Started, ing}, {ledger.Succeeded, ingDone},
		{ledger.Started, tr1}, {ledger.Failed, tr1Failed},
		{ledger.Started, tr2}, {ledger.Succeeded, tr2Done},
		{ledger.Started, ld}, {ledger.Succeeded, ldDone},
	}
}

var churnPlan = ledger.Plan{Steps: []string{"ingest", "transform", "load.curated"}}

func record(t *testing.T, l ledger.Ledger, events []event, plan ledger.Plan) {
	t.Helper()
	for _, e := range events {
		if err := l.Record(context.Background(), e.status, e.ev, plan); err != nil {
			t.Fatalf("record %s %s: %v", e.status, e.ev.Step, err)
		}
	}
}

func get(t *testing.T, l ledger.Ledger, id string) ledger.Run {
	t.Helper()
	r, err := l.Run(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// same compares two runs as a user sees them (times by instant).
func same(a, b ledger.Run) bool {
	norm := func(r ledger.Run) ledger.Run {
		r.StartedAt, r.FinishedAt = r.StartedAt.UTC(), r.FinishedAt.UTC()
		r.LateAt, r.LateClaimUntil, r.LateNotifiedAt = r.LateAt.UTC(), r.LateClaimUntil.UTC(), r.LateNotifiedAt.UTC()
		r.Steps = append([]ledger.Step(nil), r.Steps...)
		for i := range r.Steps {
			r.Steps[i].StartedAt = r.Steps[i].StartedAt.UTC()
		}
		return r
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// Every order of a run's events, each delivered up to three times, gives
// the same run: the last attempt of each step, the run succeeded.
func orderInsensitive(t *testing.T, newStore NewStore) {
	s, _ := newStore(t)
	rng := rand.New(rand.NewPCG(1, 2))
	var want ledger.Run
	for i := range 12 {
		run := newRunID()
		events := history(run, "landing/churn/a.csv")
		if i > 0 { // shuffled, with duplicates
			for _, e := range events {
				for range rng.IntN(3) {
					events = append(events, e)
				}
			}
			rng.Shuffle(len(events), func(a, b int) { events[a], events[b] = events[b], events[a] })
		}
		// Only some events know the pipeline's plan, as when it is
		// deployed while runs are under way.
		for j, e := range events {
			plan := churnPlan
			if j%3 == 0 {
				plan = ledger.Plan{}
			}
			record(t, s, []event{e}, plan)
		}
		r := get(t, s, run)
		if i == 0 {
			want = r
			if r.Status != ledger.Succeeded || len(r.Steps) != 3 || r.Input != "landing/churn/a.csv" || r.Pipeline != "churn" ||
				r.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || !r.StartedAt.Equal(t0) || !r.FinishedAt.Equal(t0.Add(4500*time.Millisecond)) {
				t.Fatalf("in order: %+v", r)
			}
			tr := r.Steps[1]
			if tr.Name != "transform" || tr.Status != ledger.Succeeded || tr.Attempt != 2 || tr.RowsOut != 9 || tr.Error != nil || tr.DurationMS != 1000 {
				t.Fatalf("transform %+v", tr)
			}
			if r.Steps[0].Bytes != 999 || r.Steps[2].Worker != "loader" || r.Late() || r.Deadline != 0 {
				t.Fatalf("steps %+v", r.Steps)
			}
			continue
		}
		want.ID = run
		if !same(r, want) {
			t.Fatalf("order %d gives\n%+v\nwant\n%+v", i, r, want)
		}
	}

	// Partial history: a pending step, a failed attempt shown with its error.
	run := newRunID()
	h := history(run, "landing/churn/b.csv")
	record(t, s, h[:4], churnPlan)
	r := get(t, s, run)
	if r.Status != ledger.Failed || r.Steps[1].Error == nil || r.Steps[1].Error.Message != "boom" || r.Steps[1].Error.Line != 3 || r.Steps[2].Status != ledger.Pending {
		t.Fatalf("after a failed transform: %+v", r)
	}
	if !r.FinishedAt.Equal(t0.Add(1050 * time.Millisecond)) {
		t.Errorf("a failed run ends with its last step: %v", r.FinishedAt)
	}
	// The redrive runs it again: running, then succeeded.
	record(t, s, h[4:5], churnPlan)
	if r := get(t, s, run); r.Status != ledger.Running || r.Steps[1].Status != ledger.Started || !r.FinishedAt.IsZero() {
		t.Fatalf("redriven: %+v", r)
	}
}

// Two deliveries of one event run a step twice at once; the second is
// abandoned. Its start, newer than the first's success, arrives before or
// after it: the step is succeeded either way, and a late failure does not
// reopen it.
func successIsFinal(t *testing.T, newStore NewStore) {
	s, _ := newStore(t)
	for _, order := range [][]string{{"ok", "dup"}, {"dup", "ok"}} {
		run := newRunID()
		first, dup := step(run, "ingest", t0, 1), step(run, "ingest", t0.Add(time.Second), 1)
		for _, o := range order {
			if o == "ok" {
				record(t, s, []event{{ledger.Succeeded, first}}, ledger.Plan{Steps: []string{"ingest"}})
			} else {
				record(t, s, []event{{ledger.Started, dup}}, ledger.Plan{})
			}
		}
		late := step(run, "ingest", t0.Add(2*time.Second), 2)
		late.Error = &messages.StepError{Message: "object not found"}
		record(t, s, []event{{ledger.Failed, late}}, ledger.Plan{})
		r := get(t, s, run)
		if r.Status != ledger.Succeeded || r.Steps[0].Status != ledger.Succeeded || !r.Steps[0].StartedAt.Equal(t0) {
			t.Errorf("%v: %+v", order, r)
		}
	}
}

func failedAndUnknown(t *testing.T, newStore NewStore) {
	s, _ := newStore(t)
	run := newRunID()
	ev := step(run, "ingest", t0, 1)
	ev.Pipeline = "" // an object no pipeline claims
	ev.Input = "landing/x/y.csv"
	ev.Error = &messages.StepError{Message: "no pipeline watches landing/x/y.csv", Permanent: true, Quarantine: "quarantine/_unknown/" + run + "/y.csv"}
	record(t, s, []event{{ledger.Failed, ev}}, ledger.Plan{})
	r := get(t, s, run)
	if r.Status != ledger.Failed || r.Pipeline != "" || r.Expected != nil || r.Steps[0].Error.Quarantine == "" || !r.Steps[0].Error.Permanent {
		t.Errorf("%+v", r)
	}
	if _, err := s.Run(context.Background(), "20991121-000000-000000"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}
	if _, err := s.RunForInput(context.Background(), "landing/never/seen.csv"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("unknown input: %v", err)
	}
}

// eventually retries a read of an index that may lag the writes (DynamoDB's
// global secondary indexes do) until check passes or 10s went by.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func listing(t *testing.T, newStore NewStore) {
	s, _ := newStore(t)
	ctx := context.Background()
	input := fmt.Sprintf("landing/churn/%d.csv", time.Now().UnixNano())
	base := time.Now().Add(100 * 24 * time.Hour) // newer than any run of other tests sharing the store
	var ids []string
	for i := range 3 {
		run := newRunID()
		ids = append(ids, run)
		ev := step(run, "ingest", base.Add(time.Duration(i)*time.Minute), 1)
		ev.Input = input // the same key uploaded three times: three runs
		record(t, s, []event{{ledger.Started, ev}}, churnPlan)
	}
	eventually(t, "runs newest first", func() error {
		runs, err := s.Runs(ctx, 2)
		if err != nil {
			return err
		}
		if len(runs) != 2 || runs[0].ID != ids[2] || runs[1].ID != ids[1] || runs[0].Status != ledger.Running || len(runs[0].Steps) != 3 {
			return fmt.Errorf("got %+v, want %s then %s", runs, ids[2], ids[1])
		}
		return nil
	})
	eventually(t, "run for input", func() error {
		r, err := s.RunForInput(ctx, input)
		if err != nil {
			return err
		}
		if r.ID != ids[2] || len(r.Steps) != 3 || r.Steps[0].Status != ledger.Started {
			return fmt.Errorf("got %+v, want the newest run %s", r, ids[2])
		}
		return nil
	})
}

// Two handles (two processes) record the events of runs at once, shuffled
// and duplicated: every run ends as if recorded one event at a time.
func concurrentWriters(t *testing.T, newStore NewStore) {
	s, another := newStore(t)
	handles := []ledger.Store{s, another()}
	var runs []string
	var events []event
	for range 3 {
		run := newRunID()
		runs = append(runs, run)
		h := history(run, "landing/churn/"+run+".csv")
		events = append(events, h...)
		events = append(events, h...)
	}
	rand.Shuffle(len(events), func(a, b int) { events[a], events[b] = events[b], events[a] })
	var wg sync.WaitGroup
	errs := make(chan error, len(events))
	for i, e := range events {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := handles[i%2].Record(context.Background(), e.status, e.ev, churnPlan); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, run := range runs {
		r := get(t, s, run)
		if r.Status != ledger.Succeeded || r.Steps[1].Attempt != 2 || r.Steps[1].Status != ledger.Succeeded || r.Steps[2].RowsOut != 9 || !r.StartedAt.Equal(t0) {
			t.Errorf("run %s: %+v", run, r)
		}
	}
}

// deadlinePlan is churn with a deadline of 10 minutes.
var deadlinePlan = ledger.Plan{Steps: churnPlan.Steps, Deadline: 10 * time.Minute}

// overdueIDs lists the ids of the runs overdue at now among ids.
func overdueIDs(t *testing.T, s ledger.Store, now time.Time, ids ...string) map[string]bool {
	t.Helper()
	runs, err := s.Overdue(context.Background(), now, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, r := range runs {
		for _, id := range ids {
			if r.ID == id {
				out[id] = true
			}
		}
	}
	return out
}

// lateRun records a run of the deadline plan that started at start and
// ingested, then returns its id.
func lateRun(t *testing.T, s ledger.Ledger, start time.Time) string {
	t.Helper()
	run := newRunID()
	ing := step(run, "ingest", start, 1)
	ing.Input = "landing/churn/" + run + ".csv"
	done := ing
	done.DurationMS = 100
	record(t, s, []event{{ledger.Started, ing}, {ledger.Succeeded, done}}, deadlinePlan)
	return run
}

// A run is overdue once it has been running for its deadline; runs
// without a deadline, finished runs and failed runs never are; a failed
// run redriven is again.
func overdue(t *testing.T, newStore NewStore) {
	s, _ := newStore(t)
	start := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	due := start.Add(deadlinePlan.Deadline)

	open := lateRun(t, s, start)
	if r := get(t, s, open); r.Deadline != deadlinePlan.Deadline || r.Late() {
		t.Fatalf("run %+v", r)
	}
	noDeadline := newRunID()
	record(t, s, []event{{ledger.Started, step(noDeadline, "ingest", start, 1)}}, churnPlan)
	finished := lateRun(t, s, start)
	for _, e := range history(finished, "")[2:] {
		record(t, s, []event{e}, deadlinePlan)
	}
	failed := lateRun(t, s, start)
	h := history(failed, "")
	record(t, s, h[2:4], deadlinePlan)
	if r := get(t, s, failed); r.Status != ledger.Failed {
		t.Fatalf("failed run %+v", r)
	}

	all := []string{open, noDeadline, finished, failed}
	if got := overdueIDs(t, s, due.Add(-time.Millisecond), all...); len(got) != 0 {
		t.Errorf("overdue before the deadline: %v", got)
	}
	eventually(t, "overdue at the deadline", func() error {
		if got := overdueIDs(t, s, due, all...); !reflect.DeepEqual(got, map[string]bool{open: true}) {
			return fmt.Errorf("overdue %v, want only %s", got, open)
		}
		return nil
	})
	runs, _ := s.Overdue(context.Background(), due, 1000)
	for _, r := range runs {
		if r.ID == open && (r.Status != ledger.Running || len(r.Steps) != 3 || r.Pipeline != "churn" || !r.StartedAt.Equal(start)) {
			t.Errorf("overdue run as listed: %+v", r)
		}
	}
	// The failed run is redriven: running again, and overdue.
	record(t, s, h[4:5], deadlinePlan)
	eventually(t, "a redriven run overdue", func() error {
		if got := overdueIDs(t, s, due, all...); !got[failed] {
			return fmt.Errorf("overdue %v, want %s among them", got, failed)
		}
		return nil
	})
	// An event from before the first known start moves the deadline up.
	early := lateRun(t, s, start)
	record(t, s, []event{{ledger.Started, step(early, "transform", start.Add(-5*time.Minute), 1)}}, deadlinePlan)
	eventually(t, "the earliest start counts", func() error {
		if got := overdueIDs(t, s, due.Add(-5*time.Minute), early); !got[early] {
			return fmt.Errorf("overdue %v, want %s", got, early)
		}
		return nil
	})
}

// Of many claimers on two handles, one gets the claim; the claim stays
// until its lease expires unconfirmed, when one claimer gets it again,
// keeping the first LateAt; once confirmed the run is never overdue again.
func claimedOnce(t *testing.T, newStore NewStore) {
	s, another := newStore(t)
	handles := []ledger.Store{s, another()}
	ctx := context.Background()
	start := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	run := lateRun(t, s, start)
	now := start.Add(deadlinePlan.Deadline + time.Second)
	const lease = time.Minute

	claimAll := func(at time.Time) int {
		var wins atomic.Int64
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := handles[i%2].ClaimLate(ctx, run, at, lease)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		return int(wins.Load())
	}
	if n := claimAll(start.Add(time.Minute)); n != 0 {
		t.Fatalf("%d claims before the deadline", n)
	}
	if n := claimAll(now); n != 1 {
		t.Fatalf("%d claims at once, want 1", n)
	}
	r := get(t, s, run)
	if !r.Late() || !r.LateAt.Equal(now) || !r.LateClaimUntil.Equal(now.Add(lease)) || !r.LateNotifiedAt.IsZero() || r.Status != ledger.Running {
		t.Fatalf("claimed run %+v", r)
	}
	if got := overdueIDs(t, s, now.Add(lease-time.Millisecond), run); len(got) != 0 {
		t.Errorf("overdue while claimed: %v", got)
	}
	if n := claimAll(now.Add(lease - time.Millisecond)); n != 0 {
		t.Errorf("%d claims of a fresh claim", n)
	}
	// The claimer died: after the lease the notice is due again.
	later := now.Add(lease)
	eventually(t, "an expired claim overdue", func() error {
		if got := overdueIDs(t, s, later, run); !got[run] {
			return fmt.Errorf("not overdue")
		}
		return nil
	})
	if n := claimAll(later); n != 1 {
		t.Fatalf("%d claims of an expired claim, want 1", n)
	}
	if r := get(t, s, run); !r.LateAt.Equal(now) || !r.LateClaimUntil.Equal(later.Add(lease)) {
		t.Errorf("claimed again: %+v", r)
	}
	// Confirmed (twice: idempotent): never again, even long after, even
	// when the run goes on.
	for range 2 {
		if err := handles[1].LateNotified(ctx, run, later.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	record(t, s, history(run, "")[2:3], deadlinePlan)
	if got := overdueIDs(t, s, later.Add(24*time.Hour), run); len(got) != 0 {
		t.Errorf("overdue once notified: %v", got)
	}
	if n := claimAll(later.Add(24 * time.Hour)); n != 0 {
		t.Errorf("%d claims once notified", n)
	}
	if r := get(t, s, run); !r.Late() || !r.LateNotifiedAt.Equal(later.Add(time.Second)) {
		t.Errorf("notified run %+v", r)
	}
	// Confirming what was never claimed is an error.
	other := lateRun(t, s, start)
	if err := s.LateNotified(ctx, other, now); !errors.Is(err, ledger.ErrNotClaimed) {
		t.Errorf("confirmed without a claim: %v", err)
	}
	if _, err := s.ClaimLate(ctx, "20991121-000000-000000", now, lease); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("claim of an unknown run: %v", err)
	}
}

// bus records what the checkers publish.
type bus struct {
	mu     sync.Mutex
	events []messages.Envelope
	fail   bool
}

func (b *bus) Publish(_ context.Context, events ...messages.Envelope) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail {
		return errors.New("bus down")
	}
	b.events = append(b.events, events...)
	return nil
}

// lateOf returns the late notices published for a run.
func (b *bus) lateOf(t *testing.T, run string) []*messages.RunLate {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*messages.RunLate
	for _, env := range b.events {
		d, err := messages.Decode(env)
		if err != nil {
			t.Fatal(err)
		}
		if late, ok := d.(*messages.RunLate); ok && late.RunID == run {
			out = append(out, late)
		}
	}
	return out
}

func (b *bus) idsOf(run string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	for _, env := range b.events {
		if env.DetailType == messages.TypeRunLate && messages.EventID(messages.TypeRunLate, run) == env.ID {
			ids = append(ids, env.ID)
		}
	}
	return ids
}

func checker(s ledger.Deadlines, b ledger.Publisher, now time.Time) *ledger.LateChecker {
	return &ledger.LateChecker{Store: s, Bus: b, Lease: time.Minute, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
}

// Two ledger processes check at the same moments, then restart and check
// again: one notice per late run, with what the run was doing.
func checkersPublishOnce(t *testing.T, newStore NewStore) {
	s, another := newStore(t)
	b := &bus{}
	start := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	run := lateRun(t, s, start)
	onTime := lateRun(t, s, start.Add(30*time.Minute)) // due later
	now := start.Add(deadlinePlan.Deadline + 3*time.Second)
	for round := range 3 {
		handles := []ledger.Store{s, another()} // a restart opens new handles
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := checker(handles[i%2], b, now.Add(time.Duration(round)*time.Hour)).Check(context.Background()); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if round == 0 {
			// Index reads may lag: make sure the run was seen at all.
			eventually(t, "the late run announced", func() error {
				if _, err := checker(s, b, now).Check(context.Background()); err != nil {
					return err
				}
				if len(b.lateOf(t, run)) == 0 {
					return errors.New("no notice")
				}
				return nil
			})
		}
	}
	notices := b.lateOf(t, run)
	if len(notices) != 1 {
		t.Fatalf("%d late notices for run %s, want 1", len(notices), run)
	}
	n := notices[0]
	if n.Pipeline != "churn" || n.Input != "landing/churn/"+run+".csv" || !n.StartedAt.Equal(start) || n.DeadlineMS != 600_000 ||
		!n.DueAt.Equal(start.Add(10*time.Minute)) || !n.DetectedAt.Equal(now.UTC()) || n.TraceID == "" ||
		fmt.Sprint(n.Done) != "[ingest]" || fmt.Sprint(n.Pending) != "[transform load.curated]" {
		t.Errorf("notice %+v", n)
	}
	if ids := b.idsOf(run); len(ids) != 1 {
		t.Errorf("the notice's id is not the run's: %v", ids)
	}
	// onTime fell due an hour and two hours later, in rounds 1 and 2: once.
	if got := len(b.lateOf(t, onTime)); got != 1 {
		t.Errorf("%d notices for the run due later, want 1", got)
	}
	if r := get(t, s, run); !r.Late() || r.LateNotifiedAt.IsZero() {
		t.Errorf("run %+v", r)
	}
}

// A checker that claims and then fails to publish (the bus is down, or it
// crashed) leaves the notice to the next look after the lease, which
// publishes the same event: same id, same content.
func republishedAfterCrash(t *testing.T, newStore NewStore) {
	s, another := newStore(t)
	start := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	run := lateRun(t, s, start)
	now := start.Add(deadlinePlan.Deadline + time.Second)
	down := &bus{fail: true}
	eventually(t, "a claim", func() error {
		if _, err := checker(s, down, now).Check(context.Background()); err == nil {
			return errors.New("published on a bus that is down")
		}
		return nil
	})
	if r := get(t, s, run); !r.Late() || !r.LateNotifiedAt.IsZero() {
		t.Fatalf("after the failed publish: %+v", r)
	}
	up := &bus{}
	restarted := another()
	if _, err := checker(restarted, up, now.Add(30*time.Second)).Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(up.lateOf(t, run)) != 0 {
		t.Fatal("published again while the claim was fresh")
	}
	eventually(t, "the notice published after the lease", func() error {
		if _, err := checker(restarted, up, now.Add(time.Minute)).Check(context.Background()); err != nil {
			return err
		}
		if len(up.lateOf(t, run)) != 1 {
			return errors.New("no notice")
		}
		return nil
	})
	n := up.lateOf(t, run)[0]
	if !n.DetectedAt.Equal(now.UTC()) || len(up.idsOf(run)) != 1 {
		t.Errorf("republished notice %+v", n)
	}
	if _, err := checker(restarted, up, now.Add(time.Hour)).Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(up.lateOf(t, run)); got != 1 {
		t.Errorf("%d notices after confirmation, want 1", got)
	}
}
