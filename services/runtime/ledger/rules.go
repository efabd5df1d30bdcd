package ledger

import (
	"slices"
	"time"

	"github.com/fusiondata/fusion/messages"
)

// The rules every Ledger implementation applies, pure so that each store
// only reads, decides here and writes back under its own concurrency
// control (a SQLite transaction, a DynamoDB conditional write).

// rank orders a step's statuses within one attempt.
func rank(status string) int {
	switch status {
	case Succeeded:
		return 2
	case Failed:
		return 1
	}
	return 0
}

// Supersedes reports whether a step event (its status and its attempt's
// start) replaces the state recorded for its step (have; ok is false when
// nothing is recorded). It is the one place deciding which step event wins:
//   - a success is final and wins over any other attempt, older or newer:
//     another attempt is a duplicate delivery, abandoned when its process
//     died or dropped once its event was found handled, and must not
//     reopen the step;
//   - otherwise the newest attempt (by start) wins, and within one attempt
//     succeeded beats failed beats started, so a step never goes back.
func Supersedes(have Step, ok bool, status string, startedAt time.Time) bool {
	if !ok {
		return true
	}
	switch succeeded := status == Succeeded; {
	case have.Status == Succeeded && !succeeded:
		return false
	case succeeded && have.Status != Succeeded:
		return true
	}
	start, haveStart := startedAt.UnixNano(), have.StartedAt.UnixNano()
	return start > haveStart || (start == haveStart && rank(status) > rank(have.Status))
}

// StepOf is the state a step event records for its step.
func StepOf(status string, ev messages.StepEvent) Step {
	return Step{
		Name: ev.Step, Worker: ev.Worker, Status: status, Input: ev.Input, Attempt: ev.Attempt,
		StartedAt: ev.StartedAt, DurationMS: ev.DurationMS, RowsIn: ev.RowsIn, RowsOut: ev.RowsOut, Bytes: ev.Bytes, Error: ev.Error,
	}
}

// Apply applies one step event to a run as a store keeps it — the run's
// own facts and the steps recorded so far (Steps, without pending
// placeholders) — and reports what changed: stepChanged when the event won
// its step (Supersedes), runChanged when the run's own facts did. Those
// merge first-known-wins (pipeline, the input an ingest step consumed, the
// plan's expected steps and deadline, the trace), and the run's start is
// the earliest start of any of its events.
func Apply(r *Run, status string, ev messages.StepEvent, plan Plan) (stepChanged, runChanged bool) {
	set := func(have *string, v string) {
		if *have == "" && v != "" {
			*have, runChanged = v, true
		}
	}
	set(&r.ID, ev.RunID)
	set(&r.Pipeline, ev.Pipeline)
	if ev.Step == "ingest" {
		set(&r.Input, ev.Input)
	}
	set(&r.TraceID, TraceID(ev.Traceparent))
	if r.Expected == nil && plan.Steps != nil {
		r.Expected, runChanged = slices.Clone(plan.Steps), true
	}
	if r.Deadline == 0 && plan.Deadline > 0 {
		r.Deadline, runChanged = plan.Deadline, true
	}
	if r.StartedAt.IsZero() || ev.StartedAt.UnixNano() < r.StartedAt.UnixNano() {
		r.StartedAt, runChanged = ev.StartedAt, true
	}

	i := slices.IndexFunc(r.Steps, func(s Step) bool { return s.Name == ev.Step })
	var have Step
	if i >= 0 {
		have = r.Steps[i]
	}
	if !Supersedes(have, i >= 0, status, ev.StartedAt) {
		return false, runChanged
	}
	if i >= 0 {
		r.Steps[i] = StepOf(status, ev)
	} else {
		r.Steps = append(r.Steps, StepOf(status, ev))
	}
	return true, runChanged
}

// Assemble returns the run as the ledger shows it, from a run as a store
// keeps it: the expected steps first in pipeline order, pending ones
// included, then any others by start; the run's status and end derived
// from them.
func Assemble(r Run) Run {
	recorded := slices.Clone(r.Steps)
	slices.SortStableFunc(recorded, func(a, b Step) int { return a.StartedAt.Compare(b.StartedAt) })
	r.Steps = make([]Step, 0, max(len(r.Expected), len(recorded)))
	for _, name := range r.Expected {
		i := slices.IndexFunc(recorded, func(s Step) bool { return s.Name == name })
		if i < 0 {
			r.Steps = append(r.Steps, Step{Name: name, Status: Pending})
			continue
		}
		r.Steps = append(r.Steps, recorded[i])
	}
	for _, st := range recorded {
		if !slices.Contains(r.Expected, st.Name) {
			r.Steps = append(r.Steps, st)
		}
	}
	summarize(&r)
	return r
}

// summarize derives the run's status and end from its steps.
func summarize(r *Run) {
	failed, done := false, len(r.Expected) > 0
	var end time.Time
	for _, st := range r.Steps {
		switch st.Status {
		case Failed:
			failed = true
		case Succeeded:
		default:
			done = false
		}
		if st.Status != Pending {
			if e := st.StartedAt.Add(time.Duration(st.DurationMS) * time.Millisecond); e.After(end) {
				end = e
			}
		}
	}
	r.FinishedAt = time.Time{}
	switch {
	case failed:
		r.Status = Failed
		r.FinishedAt = end
	case done:
		r.Status = Succeeded
		r.FinishedAt = end
	default:
		r.Status = Running
	}
}

// NextCheck is when the late checker must next look at an assembled run;
// zero when never (stores index runs by it):
//   - a run whose pipeline has no deadline, or whose late notice was
//     confirmed, is never looked at;
//   - a claimed, unconfirmed notice is looked at again when its claim
//     expires, whatever the run did since: it was found late;
//   - a running run is looked at when its deadline passes; a succeeded or
//     failed one is not (a failed run that is redriven runs again).
func NextCheck(r Run) time.Time {
	switch {
	case r.Deadline <= 0 || !r.LateNotifiedAt.IsZero():
		return time.Time{}
	case !r.LateClaimUntil.IsZero():
		return r.LateClaimUntil
	case r.Status != Running || r.StartedAt.IsZero():
		return time.Time{}
	}
	return r.StartedAt.Add(r.Deadline)
}

// Claimable reports whether the late notice of an assembled run may be
// claimed at now: its next check has come.
func Claimable(r Run, now time.Time) bool {
	next := NextCheck(r)
	return !next.IsZero() && !next.After(now)
}

// Claim records on a run a claim of its late notice taken at now for
// lease; the first claim's time stays the run's LateAt.
func Claim(r *Run, now time.Time, lease time.Duration) {
	if r.LateAt.IsZero() {
		r.LateAt = now
	}
	r.LateClaimUntil = now.Add(lease)
}

// Notified records on a run that its late notice was published.
func Notified(r *Run, at time.Time) {
	r.LateNotifiedAt = at
}
