package worker_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/telemetry"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// handlerSpans waits for n ended spans named name.
func handlerSpans(t *testing.T, rec *tracetest.SpanRecorder, name string, n int) []sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got []sdktrace.ReadOnlySpan
		for _, s := range rec.Ended() {
			if s.Name() == name {
				got = append(got, s)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %q spans of %d", len(got), name, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func succeed(context.Context, *worker.Input) (worker.Output, error) {
	return worker.Output{Events: []messages.Detail{transformed()}}, nil
}

// An event whose detail carries no trace context continues the one its
// message's metadata carries (the embedded bus, SNS).
func TestMetadataContextIsTheParentWithoutOneInTheDetail(t *testing.T) {
	h := newHarness(t, 0)
	h.run(t, &worker.Worker{Name: "transform", Handlers: map[string]worker.Handler{messages.TypeDatasetIngested: succeed}})
	env := ingested(t)
	d, _ := messages.Decode(env)
	d.(*messages.DatasetIngested).Traceparent = ""
	env, _ = messages.New(d, time.Now())
	producer := sdktrace.NewTracerProvider()
	ctx, span := producer.Tracer("t").Start(context.Background(), "upstream")
	if err := h.bus.Publish(ctx, env); err != nil {
		t.Fatal(err)
	}
	span.End()
	got := handlerSpans(t, h.spans, "transform transform", 1)[0]
	if got.Parent().SpanID() != span.SpanContext().SpanID() || got.Parent().TraceID() != span.SpanContext().TraceID() || len(got.Links()) != 0 {
		t.Errorf("parent %v links %v, want %v", got.Parent(), got.Links(), span.SpanContext())
	}
}

// A dead letter names the attempt that gave up in its metadata; redriven,
// the step continues the run's trace under the event's own parent and
// links that attempt.
func TestRedrivenDeadLetterContinuesTheTraceAndLinksTheFailure(t *testing.T) {
	h := newHarness(t, 0)
	var calls atomic.Int32
	h.run(t, &worker.Worker{Name: "transform", Handlers: map[string]worker.Handler{
		messages.TypeDatasetIngested: func(ctx context.Context, in *worker.Input) (worker.Output, error) {
			if calls.Add(1) == 1 {
				return worker.Output{}, worker.Permanent(errors.New("transform.sql is broken"))
			}
			return succeed(ctx, in)
		},
	}})
	if err := h.bus.Publish(context.Background(), ingested(t)); err != nil {
		t.Fatal(err)
	}
	dl, _ := h.next(t, worker.DeadLetterQueue("transform"))
	failed := handlerSpans(t, h.spans, "transform transform", 1)[0]
	if tp := dl.Metadata.Get("traceparent"); tp[36:52] != failed.SpanContext().SpanID().String() {
		t.Fatalf("dead letter traceparent %q, the failed span %v", tp, failed.SpanContext())
	}
	id, payload, md := transport.DeadLetter{Queue: "transform", ID: dl.UUID, Payload: dl.Payload, Metadata: dl.Metadata}.Redriven()
	back := message.NewMessage(id, payload)
	for k, v := range md {
		back.Metadata.Set(k, v)
	}
	if err := h.broker.Publisher().Publish("transform", back); err != nil {
		t.Fatal(err)
	}
	spans := handlerSpans(t, h.spans, "transform transform", 2)
	again := spans[1]
	if again.SpanContext().TraceID() != failed.SpanContext().TraceID() || again.Parent().SpanID() != failed.Parent().SpanID() ||
		again.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("redriven span %v parent %v; the failed one %v parent %v", again.SpanContext(), again.Parent(), failed.SpanContext(), failed.Parent())
	}
	if l := again.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != failed.SpanContext().SpanID() {
		t.Errorf("links %+v, want the failed attempt %v", l, failed.SpanContext().SpanID())
	}
}

// Each worker's spans come from its own provider when Config.Tracers
// gives one.
func TestEachWorkerTracesWithItsOwnProvider(t *testing.T) {
	own := tracetest.NewSpanRecorder()
	tr := telemetry.NewTracing(nil, own)
	h := newHarnessConfig(t, worker.Config{Concurrency: 1, Tracers: func(w string) trace.TracerProvider { return tr.Provider("fusion-" + w) }}, def, nil)
	h.run(t, &worker.Worker{Name: "transform", Handlers: map[string]worker.Handler{messages.TypeDatasetIngested: succeed}})
	if err := h.bus.Publish(context.Background(), ingested(t)); err != nil {
		t.Fatal(err)
	}
	s := handlerSpans(t, own, "transform transform", 1)[0]
	if v, _ := s.Resource().Set().Value("service.name"); v.AsString() != "fusion-transform" || len(h.spans.Ended()) != 0 {
		t.Errorf("service %q; %d spans from the default provider", v.AsString(), len(h.spans.Ended()))
	}
}

// The first step of a run has no parent: its trace is the run's, whoever
// handles it and however often.
func TestARunsFirstSpanHasTheRunsTrace(t *testing.T) {
	own := tracetest.NewSpanRecorder()
	tr := telemetry.NewTracing(nil, own)
	h := newHarnessConfig(t, worker.Config{Concurrency: 1, Tracers: func(w string) trace.TracerProvider { return tr.Provider("fusion-" + w) }}, def, nil)
	h.run(t, &worker.Worker{Name: "ingest", Handlers: map[string]worker.Handler{
		messages.DetailTypeObjectCreated: func(context.Context, *worker.Input) (worker.Output, error) { return worker.Output{}, nil },
	}})
	at := time.Date(2026, 11, 21, 15, 16, 0, 0, time.UTC)
	env, err := messages.NewObjectCreated("fusion-lake", messages.CreatedObject{Key: "landing/p/x.csv", Size: 3, ETag: "e", Sequencer: "01"}, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.bus.Publish(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	s := handlerSpans(t, own, "ingest ingest", 1)[0]
	var run string
	for _, a := range s.Attributes() {
		if a.Key == "fusion.run_id" {
			run = a.Value.AsString()
		}
	}
	if s.Parent().IsValid() || run == "" || s.SpanContext().TraceID() != telemetry.RunTraceID(run) {
		t.Errorf("span %v (parent %v) of run %q", s.SpanContext(), s.Parent(), run)
	}
}
