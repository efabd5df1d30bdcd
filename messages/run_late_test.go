package messages

import (
	"strings"
	"testing"
	"time"
)

// One late notice per run: published again (after a crash, by a second
// ledger process, with another detection time) it has the same event id,
// so consumers deduplicate it.
func TestRunLateIsOnePerRun(t *testing.T) {
	late := &RunLate{RunRef: RunRef{RunID: run, Pipeline: "churn"}, StartedAt: at, DeadlineMS: 60_000, DueAt: at.Add(time.Minute), DetectedAt: at.Add(time.Minute)}
	first, err := New(late, at.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	again := *late
	again.DetectedAt = at.Add(5 * time.Minute)
	second, err := New(&again, at.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != second.ID {
		t.Errorf("the same run's late notices have ids %s and %s", first.ID, second.ID)
	}
	other := *late
	other.RunID = "20261121-151600-000001"
	if third, _ := New(&other, at); third.ID == first.ID {
		t.Error("two runs share a late notice id")
	}
	if first.Source != SourceLedger || first.DetailType != TypeRunLate {
		t.Errorf("envelope %s from %s", first.DetailType, first.Source)
	}
	bad := *late
	bad.DeadlineMS, bad.Pipeline = 0, ""
	body := strings.Replace(string(mustJSON(first)), `"deadline_ms":60000`, `"deadline_ms":0`, 1)
	env, _ := Parse([]byte(body))
	if _, err := Decode(env); err == nil || !strings.Contains(err.Error(), "deadline_ms must be positive") {
		t.Errorf("a late notice without a deadline: %v", err)
	}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "pipeline") {
		t.Errorf("a late notice without a pipeline: %v", err)
	}
}
