package ledger_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/metastore"
)

func TestConsumerRecordsStepEvents(t *testing.T) {
	store, err := metastore.Open(filepath.Join(t.TempDir(), "fusion.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	handle := ledger.Consumer(store, func(p string) ledger.Plan { return ledger.Plan{Steps: []string{"ingest", "transform"}} })
	const run = "20261121-151600-3fa9c2"
	send := func(d messages.Detail) {
		t.Helper()
		env, err := messages.New(d, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := env.Marshal()
		if err := handle(message.NewMessage(env.ID, body)); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Now().UTC()
	ev := messages.StepEvent{RunRef: messages.RunRef{RunID: run, Pipeline: "churn"}, Step: "ingest", Worker: "ingest", Input: "landing/churn/a.csv", Attempt: 1, StartedAt: at}
	send(&messages.StepStarted{StepEvent: ev})
	ev.RowsOut = 10
	send(&messages.StepSucceeded{StepEvent: ev})
	tr := ev
	tr.Step, tr.Worker, tr.StartedAt = "transform", "transform", at.Add(time.Second)
	tr.Error = &messages.StepError{Message: "boom"}
	send(&messages.StepFailed{StepEvent: tr})
	// Anything else on the queue is ignored, not retried forever.
	if err := handle(message.NewMessage("x", []byte("not an event"))); err != nil {
		t.Errorf("garbage: %v", err)
	}
	r, err := store.Run(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != ledger.Failed || r.Input != "landing/churn/a.csv" || len(r.Steps) != 2 || r.Steps[0].RowsOut != 10 || r.Steps[1].Error.Message != "boom" {
		t.Errorf("%+v", r)
	}
}
