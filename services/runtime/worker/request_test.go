package worker_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"github.com/fusiondata/fusion/services/runtime/transport/inproc"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// TestIngestRequestStartsADerivedRun: a request is resolved to the
// pipeline it names, its ingest step, and a run id derived from the event —
// the same for a redelivery. A request for a pipeline that does not start
// on requests fails that run for good.
func TestIngestRequestStartsADerivedRun(t *testing.T) {
	reg, err := pipeline.NewRegistry(fstest.MapFS{
		"orders.yaml": {Data: []byte("name: orders\nsource: {postgres: {connection: crm, table: orders}}\ntransform: {sql: SELECT 1}\n")},
		"p.yaml":      {Data: []byte(def)},
	}, "pipelines")
	if err != nil {
		t.Fatal(err)
	}
	table, err := routing.NewTable(routing.ForPipelines(reg.All()))
	if err != nil {
		t.Fatal(err)
	}
	broker := inproc.NewBroker(inproc.Config{})
	h := &harness{broker: broker, bus: transport.NewRoutedBus(func() (*routing.Table, error) { return table, nil }, broker.Publisher())}
	h.rt, err = worker.New(worker.Config{Concurrency: 1}, worker.Deps{Pipelines: reg},
		worker.Transport{Bus: h.bus, Subscriber: broker.Subscriber(), DeadLetters: broker.Publisher()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	runs := make(chan *worker.Input, 4)
	var calls atomic.Int32
	h.run(t, &worker.Worker{Name: pipeline.WorkerIngest, Handlers: map[string]worker.Handler{
		messages.TypeIngestRequested: func(_ context.Context, in *worker.Input) (worker.Output, error) {
			calls.Add(1)
			runs <- in
			return worker.Output{}, nil
		},
	}})
	rq := &messages.IngestRequested{Pipeline: "orders", RequestID: "r1"}
	env, err := messages.New(rq, time.Date(2026, 11, 21, 15, 16, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := rq.StartRun(env)
	for range 2 { // a delivery and its redelivery
		if err := h.bus.Publish(context.Background(), env); err != nil {
			t.Fatal(err)
		}
		select {
		case in := <-runs:
			if in.Run != want || in.Step.Name != "ingest" || in.Pipeline.Name != "orders" || !strings.HasPrefix(in.Run.RunID, "20261121-151600-") {
				t.Errorf("resolved to run %+v step %+v", in.Run, in.Step)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("request not handled")
		}
	}
	// The step events name the table as the run's input.
	for {
		_, ev := h.next(t, routing.LedgerQueue)
		d, _ := messages.Decode(ev)
		if s, ok := d.(*messages.StepSucceeded); ok {
			if s.Input != "postgres:crm/orders" || s.RunID != want.RunID {
				t.Errorf("step %+v", s.StepEvent)
			}
			break
		}
	}

	// Pipeline p lands files: a request for it (sent around the rules) fails its run.
	bad, _ := messages.New(&messages.IngestRequested{Pipeline: "p", RequestID: "r2"}, time.Now())
	msg, _ := transport.ToMessage(bad, "test")
	if err := broker.Publisher().Publish(pipeline.WorkerIngest, msg); err != nil {
		t.Fatal(err)
	}
	dl, _ := h.next(t, worker.DeadLetterQueue(pipeline.WorkerIngest))
	if reason := dl.Metadata.Get("dead_letter_reason"); !strings.Contains(reason, "pipeline p does not start on fusion.ingest.requested.v1") || dl.Metadata.Get("run_id") == "" {
		t.Errorf("dead letter %v", dl.Metadata)
	}
	if calls.Load() != 2 {
		t.Errorf("handler called %d times", calls.Load())
	}
}
