package messages

import (
	"testing"
	"time"
)

// A scheduled fire is the same run whenever its event is sent: the run
// is timed by the due time in its request id.
func TestScheduledRunIsTimedByItsDueTime(t *testing.T) {
	rq := &IngestRequested{Pipeline: "sales", RequestID: "schedule:2026-11-21T02:00:00Z", RequestedBy: "eventbridge scheduler"}
	first, err := New(rq, time.Date(2026, 11, 21, 2, 0, 41, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	retry, _ := New(rq, time.Date(2026, 11, 21, 2, 3, 5, 0, time.UTC))
	a, b := rq.StartRun(first), rq.StartRun(retry)
	if a != b || a.RunID[:15] != "20261121-020000" {
		t.Errorf("runs %s and %s", a.RunID, b.RunID)
	}
	if !ValidRunID(a.RunID) {
		t.Errorf("%s is not a run id", a.RunID)
	}
	// Another due time is another run; a request id that only looks
	// scheduled is timed by its event.
	next := (&IngestRequested{Pipeline: "sales", RequestID: "schedule:2026-11-22T02:00:00Z"}).StartRun(first)
	odd := (&IngestRequested{Pipeline: "sales", RequestID: "schedule:tomorrow"}).StartRun(first)
	if next == a || next.RunID[:15] != "20261122-020000" || odd.RunID[:15] != "20261121-020041" {
		t.Errorf("next %s, odd %s", next.RunID, odd.RunID)
	}
	if at, ok := ScheduledTime("schedule:2026-11-21T03:00:00+01:00"); !ok || !at.Equal(time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("offset time: %s %v", at, ok)
	}
}
