package worker_test

import (
	"context"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

const guardedDef = def + `preconditions:
  - {step: transform, shell: 'test "$FUSION_STEP" = transform && test "$FUSION_RUN_ID" = ` + runID + ` && exit 1', timeout: 1s, retry_every: 1s}
`

// A step whose precondition never holds is not run: it fails for good,
// with the reason in the ledger and the dead letter, and shows as started
// while it waits.
func TestPreconditionThatNeverHoldsFailsTheStep(t *testing.T) {
	h := newHarnessFor(t, 3, guardedDef)
	var calls atomic.Int32
	h.run(t, &worker.Worker{Name: "transform", Handlers: map[string]worker.Handler{
		messages.TypeDatasetIngested: func(context.Context, *worker.Input) (worker.Output, error) {
			calls.Add(1)
			return worker.Output{}, nil
		},
	}})
	if err := h.bus.Publish(context.Background(), ingested(t)); err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`^precondition shell test .* did not hold within 1s \(2 checks, every 1s; last: command exited with status 1\)$`)
	dl, _ := h.next(t, worker.DeadLetterQueue("transform"))
	if reason := dl.Metadata.Get("dead_letter_reason"); !want.MatchString(reason) || dl.Metadata.Get("step") != "transform" || dl.Metadata.Get("attempts") != "1" {
		t.Errorf("dead letter %v", dl.Metadata)
	}
	var statuses []string
	var failed *messages.StepEvent
	for len(statuses) < 2 {
		_, env := h.next(t, routing.LedgerQueue)
		statuses = append(statuses, messages.Status(env.DetailType))
		d, _ := messages.Decode(env)
		if f, ok := d.(*messages.StepFailed); ok {
			failed = &f.StepEvent
		}
	}
	if failed == nil || !failed.Error.Permanent || !want.MatchString(failed.Error.Message) || statuses[0] != "started" {
		t.Errorf("ledger heard %v, failure %+v", statuses, failed)
	}
	if calls.Load() != 0 {
		t.Errorf("the handler ran %d times", calls.Load())
	}
}

const activityDef = def + `activities:
  - {name: tidy, after: load.curated, sql: DELETE FROM t WHERE false}
preconditions:
  - {step: activity.tidy, shell: 'true'}
`

// An activity's event reaches the worker's activity handler, once its
// precondition holds; the worker's own handlers keep their events.
func TestActivityReachesItsHandler(t *testing.T) {
	h := newHarnessFor(t, 0, activityDef)
	steps := make(chan string, 4)
	own := func(context.Context, *worker.Input) (worker.Output, error) { return worker.Output{}, nil }
	w := (&worker.Worker{Name: "loader", Handlers: map[string]worker.Handler{messages.TypeDatasetTransformed: func(ctx context.Context, in *worker.Input) (worker.Output, error) {
		steps <- "own " + in.Step.Name
		return own(ctx, in)
	}}}).WithActivities(func(_ context.Context, in *worker.Input) (worker.Output, error) {
		steps <- "activity " + in.Step.Name
		return worker.Output{Events: []messages.Detail{&messages.ActivityCompleted{RunRef: in.Run, Activity: "tidy", Kind: messages.ActivitySQL}}}, nil
	})
	h.run(t, w)
	ref := messages.RunRef{RunID: runID, Pipeline: "p"}
	for _, d := range []messages.Detail{
		&messages.DatasetLoaded{RunRef: ref, Dataset: messages.DatasetRef{Name: "p.curated", Objects: []string{"c/x.parquet"}}, Table: "t", LoadID: "l"},
		transformed(),
	} {
		env, err := messages.New(d, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := h.bus.Publish(context.Background(), env); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-steps:
			want := map[string]string{messages.TypeDatasetLoaded: "activity activity.tidy", messages.TypeDatasetTransformed: "own load.curated"}[env.DetailType]
			if got != want {
				t.Errorf("%s ran %q, want %q", env.DetailType, got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s ran nothing", env.DetailType)
		}
	}
}
