package messages

import (
	"strings"
	"testing"
	"time"
)

// An activity's completion is one fact per run and activity: announced
// again (a redelivered step, a rerun) it has the same event id, and the
// next activity's dedup sees it once.
func TestActivityCompletedIsOnePerRunAndActivity(t *testing.T) {
	done := &ActivityCompleted{RunRef: RunRef{RunID: run, Pipeline: "churn"}, Activity: "export_scores", Kind: ActivityCopy, Rows: 10}
	first, err := New(done, at)
	if err != nil {
		t.Fatal(err)
	}
	again := *done
	again.Rows = 0 // the rerun found its load applied
	second, err := New(&again, at.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != second.ID {
		t.Errorf("the same activity's completions have ids %s and %s", first.ID, second.ID)
	}
	other := *done
	other.Activity = "purge"
	if third, _ := New(&other, at); third.ID == first.ID {
		t.Error("two activities of a run share an event id")
	}
	if first.Source != "fusion.activity" || first.DetailType != TypeActivityCompleted {
		t.Errorf("envelope %s from %s", first.DetailType, first.Source)
	}
}

func TestActivityCompletedRejects(t *testing.T) {
	good, _ := New(&ActivityCompleted{RunRef: RunRef{RunID: run, Pipeline: "churn"}, Activity: "export", Kind: ActivitySQL}, at)
	for name, c := range map[string]struct{ from, to, want string }{
		"kind":   {`"kind":"sql"`, `"kind":"ftp"`, "kind must be copy, sql or shell"},
		"name":   {`"activity":"export"`, `"activity":"Export Now"`, `activity "Export Now" is not a valid name`},
		"key":    {`"kind":"sql"`, `"kind":"sql","objects":["../etc/passwd"]`, `".." segment`},
		"no run": {`"run_id":"` + run + `"`, `"run_id":"x"`, "not a fusion run id"},
	} {
		t.Run(name, func(t *testing.T) {
			body := strings.Replace(string(mustJSON(good)), c.from, c.to, 1)
			env, err := Parse([]byte(body))
			if err == nil {
				_, err = Decode(env)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
}
