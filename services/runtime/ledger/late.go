package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/fusiondata/fusion/messages"
)

// Deadlines keeps, beside the runs, what the late checker needs to announce
// each run past its pipeline's deadline once: which runs are due for a
// look, and a claim on each run's late notice.
//
// Rules (NextCheck and Claimable say when, for every store alike):
//   - Overdue lists runs whose next check has come by now: running past
//     their deadline and never claimed, or claimed and not confirmed once
//     the claim expired (its claimer crashed before publishing, or while);
//     Record keeps that set current, so a run that finishes leaves it and a
//     failed run that is redriven comes back;
//   - ClaimLate re-reads the run and claims its notice only if it is still
//     claimable: of any number of callers, in one process or several
//     sharing the store, one gets true until the claim's lease expires
//     unconfirmed. The first claim's time is the run's LateAt (the flag
//     `fusion runs` shows) and stays;
//   - LateNotified confirms the notice was published; the run is never
//     due again. It is idempotent.
//
// A claimer that crashes between publishing and confirming leaves the
// notice to be published again after the lease: the event's id derives
// from the run (messages.RunLate), so consumers see the same event twice
// at worst, never two notices.
type Deadlines interface {
	Overdue(ctx context.Context, now time.Time, limit int) ([]Run, error)
	ClaimLate(ctx context.Context, runID string, now time.Time, lease time.Duration) (bool, error)
	LateNotified(ctx context.Context, runID string, at time.Time) error
}

// Publisher publishes events; transport.Bus is one.
type Publisher interface {
	Publish(ctx context.Context, events ...messages.Envelope) error
}

// LateChecker looks for runs past their deadline every Interval and
// announces each once: claim, publish fusion.run.late.v1, confirm.
type LateChecker struct {
	Store Deadlines
	Bus   Publisher
	// Interval is how often it looks (default 30s).
	Interval time.Duration
	// Lease is how long a claim waits for its confirmation before another
	// checker may publish the notice again (default 1m): longer than a
	// publish takes.
	Lease time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log reports notices and errors (default slog.Default()).
	Log *slog.Logger
}

// batch is how many overdue runs one look handles; more wait for the next.
const batch = 100

func (c *LateChecker) setDefaults() {
	if c.Interval <= 0 {
		c.Interval = 30 * time.Second
	}
	if c.Lease <= 0 {
		c.Lease = time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Run looks every Interval until ctx is cancelled. Errors are logged and
// the next look tries again.
func (c *LateChecker) Run(ctx context.Context) {
	c.setDefaults()
	tick := time.NewTicker(c.Interval)
	defer tick.Stop()
	for {
		if _, err := c.Check(ctx); err != nil && ctx.Err() == nil {
			c.Log.Warn("late runs not checked", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Check looks once and returns how many late notices it published.
func (c *LateChecker) Check(ctx context.Context) (int, error) {
	c.setDefaults()
	now := c.Now()
	runs, err := c.Store.Overdue(ctx, now, batch)
	if err != nil {
		return 0, err
	}
	published := 0
	var errs []error
	for _, r := range runs {
		ok, err := c.Store.ClaimLate(ctx, r.ID, now, c.Lease)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue // another checker has it, or the run moved on
		}
		detected := r.LateAt
		if detected.IsZero() {
			detected = now // this claim set it
		}
		env, err := messages.New(LateNotice(r, detected), detected)
		if err == nil {
			err = c.Bus.Publish(ctx, env)
		}
		if err != nil {
			// The claim expires unconfirmed and a later look publishes.
			errs = append(errs, fmt.Errorf("publish the late notice of run %s: %w", r.ID, err))
			continue
		}
		if err := c.Store.LateNotified(ctx, r.ID, c.Now()); err != nil {
			errs = append(errs, err)
			continue
		}
		published++
		c.Log.Warn("late notice published", "run_id", r.ID, "pipeline", r.Pipeline, "deadline", r.Deadline.String(),
			"started_at", r.StartedAt.UTC().Format(time.RFC3339Nano), "event_id", env.ID)
	}
	return published, errors.Join(errs...)
}

// LateNotice is the late notice of an assembled run found late at detected.
func LateNotice(r Run, detected time.Time) *messages.RunLate {
	n := &messages.RunLate{
		RunRef: messages.RunRef{RunID: r.ID, Pipeline: r.Pipeline}, Input: r.Input, TraceID: r.TraceID,
		StartedAt: r.StartedAt.UTC(), DeadlineMS: r.Deadline.Milliseconds(), DueAt: r.StartedAt.Add(r.Deadline).UTC(),
		DetectedAt: detected.UTC(), Done: []string{}, Pending: []string{},
	}
	for _, st := range r.Steps {
		if st.Status == Succeeded {
			n.Done = append(n.Done, st.Name)
		} else {
			n.Pending = append(n.Pending, st.Name)
		}
	}
	return n
}
