package ledger

import (
	"fmt"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
)

var t0 = time.Date(2026, 11, 21, 15, 16, 0, 0, time.UTC)

func TestSupersedes(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	cases := []struct {
		have       string
		haveStart  time.Time
		status     string
		start      time.Time
		supersedes bool
	}{
		{"", time.Time{}, Started, t0, true}, // nothing recorded
		{Started, t0, Succeeded, t0, true},   // the same attempt goes on
		{Started, t0, Failed, t0, true},
		{Failed, t0, Succeeded, t0, true},
		{Succeeded, t0, Failed, t0, false}, // never back within an attempt
		{Failed, t0, Started, t0, false},
		{Succeeded, t0, Started, t0, false},
		{Started, t0, Started, t0, false}, // a duplicate
		{Failed, t0, Failed, t0, false},
		{Failed, t0, Started, at(time.Second), true},     // a newer attempt
		{Started, at(time.Second), Failed, t0, false},    // an older attempt's news
		{Succeeded, t0, Started, at(time.Second), false}, // a success is final...
		{Succeeded, t0, Failed, at(time.Second), false},
		{Started, at(time.Second), Succeeded, t0, true},   // ...even when older
		{Succeeded, t0, Succeeded, at(time.Second), true}, // the newest success
		{Succeeded, at(time.Second), Succeeded, t0, false},
	}
	for _, c := range cases {
		have := Step{Status: c.have, StartedAt: c.haveStart}
		if got := Supersedes(have, c.have != "", c.status, c.start); got != c.supersedes {
			t.Errorf("%s@%v then %s@%v: supersedes %v, want %v", c.have, c.haveStart.Sub(t0), c.status, c.start.Sub(t0), got, c.supersedes)
		}
	}
}

func ev(step string, start time.Time) messages.StepEvent {
	return messages.StepEvent{RunRef: messages.RunRef{RunID: "20261121-151600-3fa9c2", Pipeline: "churn"}, Step: step, Worker: step, Attempt: 1, StartedAt: start}
}

func TestApplyMergesTheRunsFacts(t *testing.T) {
	var r Run
	tr := ev("transform", t0.Add(time.Second))
	tr.Input = "churn.raw" // not the run's input: only ingest's is
	step, run := Apply(&r, Started, tr, Plan{})
	if !step || !run || r.ID != tr.RunID || r.Pipeline != "churn" || r.Input != "" || r.Expected != nil || !r.StartedAt.Equal(tr.StartedAt) {
		t.Fatalf("first event: %v %v %+v", step, run, r)
	}
	ing := ev("ingest", t0)
	ing.Input, ing.Traceparent = "landing/churn/a.csv", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	plan := Plan{Steps: []string{"ingest", "transform"}, Deadline: time.Hour}
	if step, run := Apply(&r, Started, ing, plan); !step || !run {
		t.Fatal("an earlier ingest changes nothing")
	}
	if r.Input != "landing/churn/a.csv" || !r.StartedAt.Equal(t0) || r.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || r.Deadline != time.Hour || len(r.Expected) != 2 {
		t.Fatalf("after ingest: %+v", r)
	}
	// The first plan stays; a duplicate changes nothing.
	if step, run := Apply(&r, Started, ing, Plan{Steps: []string{"x"}, Deadline: time.Minute}); step || run || r.Deadline != time.Hour || len(r.Expected) != 2 {
		t.Errorf("duplicate: %v %v %+v", step, run, r)
	}
	done := ing
	done.RowsOut = 5
	if step, run := Apply(&r, Succeeded, done, plan); !step || run || r.Steps[1].Status != Succeeded || r.Steps[1].RowsOut != 5 || len(r.Steps) != 2 {
		t.Errorf("success: %v %v %+v", step, run, r.Steps)
	}
}

func TestAssemble(t *testing.T) {
	r := Run{Expected: []string{"ingest", "transform", "load.curated"}, Steps: []Step{
		{Name: "extra", Status: Succeeded, StartedAt: t0.Add(3 * time.Second)},
		{Name: "transform", Status: Started, StartedAt: t0.Add(2 * time.Second)},
		{Name: "ingest", Status: Succeeded, StartedAt: t0, DurationMS: 1500},
	}}
	a := Assemble(r)
	var names []string
	for _, s := range a.Steps {
		names = append(names, s.Name+":"+s.Status)
	}
	if fmt.Sprint(names) != "[ingest:succeeded transform:started load.curated:pending extra:succeeded]" || a.Status != Running || !a.FinishedAt.IsZero() {
		t.Errorf("assembled %v %s", names, a.Status)
	}
	if len(r.Steps) != 3 || r.Steps[0].Name != "extra" {
		t.Error("Assemble changed the run it was given")
	}
	r.Steps[1] = Step{Name: "transform", Status: Failed, StartedAt: t0.Add(2 * time.Second), DurationMS: 100}
	if a := Assemble(r); a.Status != Failed || !a.FinishedAt.Equal(t0.Add(3*time.Second)) {
		t.Errorf("failed: %s %v", a.Status, a.FinishedAt)
	}
	if a := Assemble(Run{Steps: []Step{{Name: "ingest", Status: Succeeded}}}); a.Status != Running {
		t.Errorf("a run of an unknown pipeline is never complete: %s", a.Status)
	}
}

func TestNextCheck(t *testing.T) {
	running := Run{Status: Running, StartedAt: t0, Deadline: time.Hour}
	claimed := running
	claimed.LateAt, claimed.LateClaimUntil = t0.Add(time.Hour), t0.Add(61*time.Minute)
	claimedDone := claimed
	claimedDone.Status = Succeeded
	notified := claimed
	notified.LateNotifiedAt = t0.Add(time.Hour)
	succeeded, failed, none := running, running, running
	succeeded.Status, failed.Status, none.Deadline = Succeeded, Failed, 0
	for name, c := range map[string]struct {
		r    Run
		want time.Time
	}{
		"running":                 {running, t0.Add(time.Hour)},
		"claimed":                 {claimed, t0.Add(61 * time.Minute)},
		"claimed, finished since": {claimedDone, t0.Add(61 * time.Minute)},
		"notified":                {notified, time.Time{}},
		"succeeded":               {succeeded, time.Time{}},
		"failed":                  {failed, time.Time{}},
		"without a deadline":      {none, time.Time{}},
	} {
		if got := NextCheck(c.r); !got.Equal(c.want) {
			t.Errorf("%s: next check %v, want %v", name, got, c.want)
		}
	}
	if Claimable(running, t0.Add(59*time.Minute)) || !Claimable(running, t0.Add(time.Hour)) || Claimable(notified, t0.Add(24*time.Hour)) {
		t.Error("claimable")
	}
	Claim(&running, t0.Add(time.Hour), time.Minute)
	Claim(&running, t0.Add(2*time.Hour), time.Minute)
	if !running.LateAt.Equal(t0.Add(time.Hour)) || !running.LateClaimUntil.Equal(t0.Add(121*time.Minute)) || !running.Late() {
		t.Errorf("claimed twice: %+v", running)
	}
}

func TestLateNotice(t *testing.T) {
	r := Assemble(Run{ID: "20261121-151600-3fa9c2", Pipeline: "churn", Input: "landing/churn/a.csv", StartedAt: t0, Deadline: 30 * time.Minute,
		Expected: []string{"ingest", "transform", "load.curated"}, Steps: []Step{{Name: "ingest", Status: Succeeded, StartedAt: t0}, {Name: "transform", Status: Started, StartedAt: t0}}})
	n := LateNotice(r, t0.Add(31*time.Minute))
	if n.DeadlineMS != 1_800_000 || !n.DueAt.Equal(t0.Add(30*time.Minute)) || fmt.Sprint(n.Done, n.Pending) != "[ingest] [transform load.curated]" {
		t.Errorf("%+v", n)
	}
	if err := n.Validate(); err != nil {
		t.Error(err)
	}
}
