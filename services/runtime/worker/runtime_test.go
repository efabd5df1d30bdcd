package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/fusiondata/fusion/services/runtime/metastore"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/lake/fslake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"github.com/fusiondata/fusion/services/runtime/transport/inproc"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

const runID = "20261121-151600-3fa9c2"

const def = `name: p
transform: {sql: SELECT 1}
load: [{dataset: curated, table: t}]
`

type harness struct {
	broker *inproc.Broker
	bus    transport.Bus
	spans  *tracetest.SpanRecorder
	rt     *worker.Runtime
}

func newHarness(t *testing.T, retries int) *harness {
	t.Helper()
	return newHarnessFor(t, retries, def)
}

// newHarnessFor serves the pipeline definition p.yaml.
func newHarnessFor(t *testing.T, retries int, def string) *harness {
	t.Helper()
	return newHarnessWith(t, retries, def, nil)
}

// newHarnessWith also deduplicates events with dedup.
func newHarnessWith(t *testing.T, retries int, def string, dedup worker.Dedup) *harness {
	t.Helper()
	return newHarnessConfig(t, worker.Config{Concurrency: 1, Retry: worker.RetryPolicy{MaxRetries: retries, Initial: time.Millisecond, Max: 2 * time.Millisecond}}, def, dedup)
}

func newHarnessConfig(t *testing.T, cfg worker.Config, def string, dedup worker.Dedup) *harness {
	t.Helper()
	reg, err := pipeline.NewRegistry(fstest.MapFS{"p.yaml": {Data: []byte(def)}}, "pipelines")
	if err != nil {
		t.Fatal(err)
	}
	table, err := routing.NewTable(routing.ForPipelines(reg.All()))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{broker: inproc.NewBroker(inproc.Config{}), spans: tracetest.NewSpanRecorder()}
	h.bus = transport.NewRoutedBus(func() (*routing.Table, error) { return table, nil }, h.broker.Publisher())
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	h.rt, err = worker.New(cfg, worker.Deps{Pipelines: reg, Dedup: dedup}, worker.Transport{Bus: h.bus, Subscriber: h.broker.Subscriber(), DeadLetters: h.broker.Publisher()}, tp)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// run runs one worker until the returned stop is called.
func (h *harness) run(t *testing.T, w *worker.Worker) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.rt.Run(ctx, []*worker.Worker{w}) }()
	t.Cleanup(func() { cancel(); <-done })
}

// next receives the next message of a queue.
func (h *harness) next(t *testing.T, queue string) (*message.Message, messages.Envelope) {
	t.Helper()
	sub := h.broker.Subscriber()
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, _ := sub.Subscribe(ctx, queue)
	select {
	case m := <-msgs:
		m.Ack()
		env, _ := messages.Parse(m.Payload) // dead letters may not parse
		return m, env
	case <-ctx.Done():
		t.Fatalf("nothing on %s", queue)
	}
	return nil, messages.Envelope{}
}

func ingested(t *testing.T) messages.Envelope {
	env, err := messages.New(&messages.DatasetIngested{
		RunRef:       messages.RunRef{RunID: runID, Pipeline: "p"},
		TraceContext: messages.TraceContext{Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		Raw:          messages.ObjectRef{Key: "raw/p/x.csv"},
		Dataset:      messages.DatasetRef{Name: "p.raw", Objects: []string{"raw/p/x.parquet"}, Rows: 3},
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func transformed() messages.Detail {
	return &messages.DatasetTransformed{RunRef: messages.RunRef{RunID: runID, Pipeline: "p"},
		Dataset: messages.DatasetRef{Name: "p.curated", Objects: []string{"curated/p/x.parquet"}, Rows: 2}}
}

func TestTransientErrorsAreRetriedThenSucceed(t *testing.T) {
	h := newHarness(t, 3)
	var calls atomic.Int32
	h.run(t, &worker.Worker{Name: "transform", Handlers: map[string]worker.Handler{
		messages.TypeDatasetIngested: func(ctx context.Context, in *worker.Input) (worker.Output, error) {
			switch calls.Add(1) {
			case 1:
				return worker.Output{}, errors.New("warehouse unavailable")
			case 2:
				panic("boom")
			}
			if in.Attempt != 3 || in.Step.Name != "transform" || in.Run.RunID != runID {
				t.Errorf("input %+v", in)
			}
			return worker.Output{RowsIn: 3, RowsOut: 2, Events: []messages.Detail{transformed()}}, nil
		},
	}})
	if err := h.bus.Publish(context.Background(), ingested(t)); err != nil {
		t.Fatal(err)
	}
	// The output reaches the loader, carrying the run's trace.
	_, out := h.next(t, "loader")
	d, _ := messages.Decode(out)
	tc := d.(*messages.DatasetTransformed).Traceparent
	if out.DetailType != messages.TypeDatasetTransformed || tc[3:35] != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("published %s with traceparent %q", out.DetailType, tc)
	}
	// The ledger hears: started x3, then succeeded with the counts.
	var statuses []string
	var last *messages.StepEvent
	for len(statuses) < 4 {
		_, env := h.next(t, routing.LedgerQueue)
		statuses = append(statuses, messages.Status(env.DetailType))
		d, _ := messages.Decode(env)
		if s, ok := d.(*messages.StepSucceeded); ok {
			last = &s.StepEvent
		}
	}
	if last == nil || last.Attempt != 3 || last.RowsOut != 2 || last.Step != "transform" {
		t.Errorf("statuses %v, succeeded %+v", statuses, last)
	}
	if calls.Load() != 3 {
		t.Errorf("%d calls", calls.Load())
	}
	// The span ends as the handler invocation returns, just after the
	// succeeded event is out; the results went out under its child, the
	// publish span, whose context they carry.
	deadline := time.Now().Add(2 * time.Second)
	for len(h.spans.Ended()) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	spans := h.spans.Ended()
	if len(spans) != 2 || spans[1].Name() != "transform transform" || spans[1].Parent().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" ||
		spans[1].Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("spans %v", spans)
	}
	if pub := spans[0]; pub.Name() != "transform publish" || pub.Parent().SpanID() != spans[1].SpanContext().SpanID() ||
		tc[36:52] != pub.SpanContext().SpanID().String() {
		t.Errorf("publish span %s (parent %s), the event's traceparent %s", pub.Name(), pub.Parent().SpanID(), tc)
	}
}

func TestPermanentErrorsFailAtOnceAndDeadLetter(t *testing.T) {
	h := newHarness(t, 3)
	var calls atomic.Int32
	h.run(t, &worker.Worker{Name: "transform", Handlers: map[string]worker.Handler{
		messages.TypeDatasetIngested: func(context.Context, *worker.Input) (worker.Output, error) {
			calls.Add(1)
			return worker.Output{}, &worker.InputError{File: "landing/p/x.csv", Line: 7, Field: "amount", Err: errors.New(`"lots" is not a valid DOUBLE`)}
		},
	}})
	if err := h.bus.Publish(context.Background(), ingested(t)); err != nil {
		t.Fatal(err)
	}
	dl, _ := h.next(t, worker.DeadLetterQueue("transform"))
	if got := dl.Metadata.Get("dead_letter_reason"); got != `landing/p/x.csv:7: amount: "lots" is not a valid DOUBLE` {
		t.Errorf("reason %q", got)
	}
	if dl.Metadata.Get("run_id") != runID || dl.Metadata.Get("step") != "transform" || dl.Metadata.Get("traceparent") == "" {
		t.Errorf("dead letter metadata %v", dl.Metadata)
	}
	for {
		_, env := h.next(t, routing.LedgerQueue)
		if env.DetailType != messages.TypeStepFailed {
			continue
		}
		d, _ := messages.Decode(env)
		e := d.(*messages.StepFailed).Error
		if e.Line != 7 || e.Field != "amount" || !e.Permanent {
			t.Errorf("step error %+v", e)
		}
		break
	}
	// The failure notification: the same event on the failures topic.
	_, note := h.next(t, routing.FailuresQueue)
	if d, err := messages.Decode(note); err != nil || d.(*messages.StepFailed).RunID != runID || d.(*messages.StepFailed).Step != "transform" ||
		d.(*messages.StepFailed).Traceparent == "" {
		t.Errorf("failure notification %s: %v", note.Detail, err)
	}
	if calls.Load() != 1 {
		t.Errorf("bad input handled %d times", calls.Load())
	}
}

func TestExhaustedRetriesDeadLetter(t *testing.T) {
	h := newHarness(t, 2)
	var calls atomic.Int32
	h.run(t, &worker.Worker{Name: "transform", Handlers: map[string]worker.Handler{
		messages.TypeDatasetIngested: func(context.Context, *worker.Input) (worker.Output, error) {
			calls.Add(1)
			return worker.Output{}, errors.New("still down")
		},
	}})
	h.bus.Publish(context.Background(), ingested(t))
	dl, _ := h.next(t, worker.DeadLetterQueue("transform"))
	if dl.Metadata.Get("attempts") != "3" || calls.Load() != 3 {
		t.Errorf("attempts %s, calls %d", dl.Metadata.Get("attempts"), calls.Load())
	}
}

// An event handled to the end is not handled again, however often it
// arrives, also after a restart (a new store on the same file); an event
// whose step failed runs again when it comes back.
func TestHandledEventsAreDeduplicatedAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	var calls atomic.Int32
	handlers := map[string]worker.Handler{
		messages.TypeDatasetIngested: func(context.Context, *worker.Input) (worker.Output, error) {
			if calls.Add(1) == 1 {
				return worker.Output{}, worker.Permanent(errors.New("bad first time"))
			}
			return worker.Output{Events: []messages.Detail{transformed()}}, nil
		},
	}
	ev := ingested(t)
	for restart := 0; restart < 2; restart++ {
		store, err := metastore.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		h := newHarnessWith(t, 0, def, store)
		h.run(t, &worker.Worker{Name: "transform", Handlers: handlers})
		for i := 0; i < 3; i++ {
			h.bus.Publish(context.Background(), ev)
		}
		if restart == 0 {
			h.next(t, worker.DeadLetterQueue("transform")) // the failed first delivery
			h.next(t, "loader")                            // the success
		}
		// Let the duplicates arrive and be acknowledged.
		time.Sleep(200 * time.Millisecond)
		store.Close()
	}
	if calls.Load() != 2 {
		t.Errorf("handler ran %d times, want 2 (the failure, then one success)", calls.Load())
	}
}

// A pipeline's retries for a step override the process's.
func TestPipelineSetsRetriesPerStep(t *testing.T) {
	for _, c := range []struct {
		retries string
		calls   int32
	}{{"{transform: 5}", 6}, {"{transform: 0}", 1}, {"{load: 7}", 2}} {
		h := newHarnessFor(t, 1, def+"retries: "+c.retries+"\n")
		var calls atomic.Int32
		h.run(t, &worker.Worker{Name: "transform", Handlers: map[string]worker.Handler{
			messages.TypeDatasetIngested: func(context.Context, *worker.Input) (worker.Output, error) {
				calls.Add(1)
				return worker.Output{}, errors.New("still down")
			},
		}})
		h.bus.Publish(context.Background(), ingested(t))
		dl, _ := h.next(t, worker.DeadLetterQueue("transform"))
		if want := fmt.Sprint(c.calls); dl.Metadata.Get("attempts") != want || calls.Load() != c.calls {
			t.Errorf("retries %s: attempts %s, calls %d, want %s", c.retries, dl.Metadata.Get("attempts"), calls.Load(), want)
		}
	}
}

// Events that are not JSON, of an unknown type or version, too large, or
// naming a key outside the lake are dead-lettered with the reason.
func TestUnusableEventsAreDeadLettered(t *testing.T) {
	h := newHarness(t, 3)
	var calls atomic.Int32
	h.run(t, &worker.Worker{Name: "transform", Handlers: map[string]worker.Handler{
		messages.TypeDatasetIngested: func(context.Context, *worker.Input) (worker.Output, error) {
			calls.Add(1)
			return worker.Output{}, nil
		},
	}})
	pub := h.broker.Publisher()
	good := ingested(t)
	unknown := good
	unknown.DetailType = "fusion.dataset.ingested.v9"
	unknownBody, _ := unknown.Marshal()
	goodBody, _ := good.Marshal()
	cases := []struct {
		name string
		body []byte
		want string
	}{
		{"not json", []byte("not json at all"), "malformed"},
		{"unknown version", unknownBody, `does not consume "fusion.dataset.ingested.v9"`},
		{"oversize", append(bytes.Repeat([]byte(" "), messages.MaxEventBytes), goodBody...), "event too large: the message is 262"},
		{"traversal", bytes.Replace(goodBody, []byte(`"raw/p/x.csv"`), []byte(`"landing/p/../../etc/passwd"`), 1), "landing/p/../../etc/passwd"},
		{"absolute key", bytes.Replace(goodBody, []byte(`"raw/p/x.csv"`), []byte(`"/etc/passwd"`), 1), "/etc/passwd"},
	}
	for _, c := range cases {
		pub.Publish("transform", message.NewMessage(c.name, c.body))
		dl, _ := h.next(t, worker.DeadLetterQueue("transform"))
		if reason := dl.Metadata.Get("dead_letter_reason"); !strings.Contains(reason, c.want) {
			t.Errorf("%s: reason %q lacks %q", c.name, reason, c.want)
		}
	}
	// The worker carries on.
	pub.Publish("transform", message.NewMessage("good", goodBody))
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if calls.Load() != 1 {
		t.Errorf("handler called %d times, want 1 (the good event)", calls.Load())
	}
}

func TestClaimChecksAreRedeemed(t *testing.T) {
	h := newHarness(t, 0)
	l, err := fslake.Open(t.TempDir(), "fusion-lake")
	if err != nil {
		t.Fatal(err)
	}
	h.rt = withLake(t, h, l)
	got := make(chan *messages.DatasetIngested, 1)
	h.run(t, &worker.Worker{Name: "transform", Handlers: map[string]worker.Handler{
		messages.TypeDatasetIngested: func(_ context.Context, in *worker.Input) (worker.Output, error) {
			got <- in.Detail.(*messages.DatasetIngested)
			return worker.Output{}, nil
		},
	}})
	full := ingested(t)
	obj, err := l.Put(context.Background(), "claims/x.json", bytes.NewReader(full.Detail))
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := messages.NewClaimCheck(full, messages.ObjectRef{Bucket: "fusion-lake", Key: obj.Key, Size: obj.Size})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.bus.Publish(context.Background(), claimed); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-got:
		if d.Dataset.Name != "p.raw" || d.Raw.Key != "raw/p/x.csv" {
			t.Errorf("redeemed detail %+v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler never saw the claim-checked event")
	}
}

// withLake rebuilds the harness's runtime with a lake.
func withLake(t *testing.T, h *harness, l *fslake.Lake) *worker.Runtime {
	t.Helper()
	reg, _ := pipeline.NewRegistry(fstest.MapFS{"p.yaml": {Data: []byte(def)}}, "pipelines")
	rt, err := worker.New(worker.Config{Concurrency: 1}, worker.Deps{Pipelines: reg, Lake: l},
		worker.Transport{Bus: h.bus, Subscriber: h.broker.Subscriber(), DeadLetters: h.broker.Publisher()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}
