// Package precondition checks the preconditions pipeline files put on
// steps (pipeline.Precondition): an object exists in the lake, a prefix is
// not empty, a warehouse table exists or has rows (matching a predicate),
// a shell command succeeds. The worker runtime waits for a step's
// preconditions before its first attempt (services/runtime/worker).
package precondition

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/shell"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// Checker checks preconditions against a tier's lake and warehouse.
type Checker struct {
	Lake      lake.Lake
	Warehouse warehouse.Warehouse
	// Dir is where shell commands run; Env is added to their environment
	// (the run: FUSION_RUN_ID, FUSION_PIPELINE, FUSION_STEP).
	Dir string
	Env []string
	// Now and Sleep are the clock Wait uses; the real one when nil.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Observation is what one check saw.
type Observation struct {
	Held bool
	Saw  string // e.g. "not found", "3 objects", "no row matches", "command exited with status 1; stderr: ..."
}

// maxSaw bounds an observation, which ends up in step errors and dead letters.
const maxSaw = 600

// Check checks a precondition once. Its placeholders must be expanded
// (pipeline.Precondition.Expand). A check that errs (the warehouse is
// down, the predicate does not parse) did not hold, and says why.
func (c *Checker) Check(ctx context.Context, pc pipeline.Precondition) Observation {
	obs := c.check(ctx, pc)
	if r := []rune(obs.Saw); len(r) > maxSaw {
		obs.Saw = string(r[:maxSaw]) + "…"
	}
	return obs
}

func (c *Checker) check(ctx context.Context, pc pipeline.Precondition) Observation {
	switch pc.Kind() {
	case pipeline.CondObjectExists:
		obj, err := c.Lake.Stat(ctx, pc.ObjectExists)
		switch {
		case errors.Is(err, lake.ErrNotFound):
			return Observation{Saw: "not found"}
		case err != nil:
			return failed(err)
		}
		return Observation{Held: true, Saw: fmt.Sprintf("found (%d bytes)", obj.Size)}
	case pipeline.CondPrefixNotEmpty:
		objs, err := c.Lake.List(ctx, pc.PrefixNotEmpty)
		switch {
		case err != nil:
			return failed(err)
		case len(objs) == 0:
			return Observation{Saw: "empty"}
		}
		return Observation{Held: true, Saw: fmt.Sprintf("%d objects", len(objs))}
	case pipeline.CondTableExists:
		ok, err := warehouse.TableExists(ctx, c.Warehouse, pc.TableExists)
		switch {
		case err != nil:
			return failed(err)
		case !ok:
			return Observation{Saw: "no such table"}
		}
		return Observation{Held: true, Saw: "exists"}
	case pipeline.CondTableHasRows:
		r := pc.TableHasRows
		ok, err := warehouse.TableExists(ctx, c.Warehouse, r.Table)
		switch {
		case err != nil:
			return failed(err)
		case !ok:
			return Observation{Saw: "no such table"}
		}
		if ok, err = warehouse.HasRows(ctx, c.Warehouse, r.Table, r.Where); err != nil {
			return failed(err)
		}
		switch {
		case ok:
			return Observation{Held: true, Saw: "a row matches"}
		case r.Where == "":
			return Observation{Saw: "the table is empty"}
		}
		return Observation{Saw: "no row matches"}
	case pipeline.CondShell:
		timeout := time.Hour
		if d, ok := ctx.Deadline(); ok {
			timeout = max(time.Until(d), time.Second)
		}
		_, err := shell.Run(ctx, shell.Command{Script: pc.Shell, Dir: c.Dir, Env: c.Env, Timeout: timeout})
		if err != nil {
			return Observation{Saw: err.Error()}
		}
		return Observation{Held: true, Saw: "exit status 0"}
	}
	return Observation{Saw: "no kind of check is set"}
}

func failed(err error) Observation { return Observation{Saw: "error: " + err.Error()} }

// NotHeldError is a precondition that did not hold in time.
type NotHeldError struct {
	Kind, Subject  string
	Timeout, Every time.Duration
	Checks         int
	Last           string // what the last check saw
}

func (e *NotHeldError) Error() string {
	return fmt.Sprintf("precondition %s %s did not hold within %v (%d checks, every %v; last: %s)",
		e.Kind, e.Subject, e.Timeout, e.Checks, e.Every, e.Last)
}

// Wait checks a precondition (expanded) until it holds: at once, then
// every pc.Every() until pc.TimeoutDuration() has passed, the last check
// falling on the timeout. It returns the number of checks, and a
// *NotHeldError when the precondition never held, or ctx's error.
func (c *Checker) Wait(ctx context.Context, pc pipeline.Precondition) (int, error) {
	now, sleep := c.Now, c.Sleep
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepCtx
	}
	timeout, every := pc.TimeoutDuration(), pc.Every()
	deadline := now().Add(timeout)
	checks := 0
	for {
		// A check may run until the timeout, and for one interval at least.
		cctx, cancel := context.WithTimeout(ctx, max(deadline.Sub(now()), every))
		obs := c.Check(cctx, pc)
		cancel()
		if ctx.Err() != nil {
			return checks, ctx.Err()
		}
		checks++
		if obs.Held {
			return checks, nil
		}
		left := deadline.Sub(now())
		if left <= 0 {
			return checks, &NotHeldError{Kind: pc.Kind(), Subject: pc.Subject(), Timeout: timeout, Every: every, Checks: checks, Last: obs.Saw}
		}
		if err := sleep(ctx, min(every, left)); err != nil {
			return checks, err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
