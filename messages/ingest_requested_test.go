package messages

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestIngestRequestedStartsOneRunPerRequest(t *testing.T) {
	rq := &IngestRequested{Pipeline: "orders", RequestID: "r-1"}
	env, err := New(rq, at)
	if err != nil {
		t.Fatal(err)
	}
	run := rq.StartRun(env)
	if !ValidRunID(run.RunID) || !strings.HasPrefix(run.RunID, "20261121-151600-") || run.Pipeline != "orders" {
		t.Fatalf("run %+v", run)
	}
	// A redelivery (same envelope) is the same run.
	parsed, _ := Parse(mustJSON(env))
	d, err := Decode(parsed)
	if err != nil {
		t.Fatal(err)
	}
	if again := d.(RunStarter).StartRun(parsed); again != run {
		t.Errorf("redelivery starts %v, want %v", again, run)
	}
	// Another request is another run, and so is the same request for another pipeline.
	if other := (&IngestRequested{Pipeline: "orders", RequestID: "r-2"}).StartRun(env); other == run {
		t.Error("two requests share a run")
	}
	// Without a request id (a bare put-events), the event id names the request.
	bare := &IngestRequested{Pipeline: "orders"}
	e1, e2 := env, env
	e1.ID, e2.ID = "a", "b"
	if bare.StartRun(e1) == bare.StartRun(e2) {
		t.Error("events without a request id share a run")
	}
	if r := bare.StartRun(Envelope{ID: "a", Time: at.Add(time.Hour)}); !strings.HasPrefix(r.RunID, "20261121-161600-") {
		t.Errorf("run %v is not timed by the event", r)
	}
}

func TestIngestRequestedRejects(t *testing.T) {
	for name, body := range map[string]string{
		"bad pipeline":    `{"pipeline":"Orders!"}`,
		"no pipeline":     `{"reason":"x"}`,
		"long request id": `{"pipeline":"orders","request_id":"` + strings.Repeat("x", 129) + `"}`,
		"control chars":   `{"pipeline":"orders","request_id":"a\u0001"}`,
		"unknown field":   `{"pipeline":"orders","table":"x"}`,
	} {
		env := Envelope{ID: "x", DetailType: TypeIngestRequested, Source: SourceControl, Time: at, Detail: []byte(body)}
		if _, err := Decode(env); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
