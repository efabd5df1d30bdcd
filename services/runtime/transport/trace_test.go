package transport_test

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"github.com/fusiondata/fusion/services/runtime/transport/inproc"
)

// The embedded bus puts the publisher's trace context in each queued
// message's metadata, beside the detail.
func TestRoutedBusCarriesTheTraceInTheMetadata(t *testing.T) {
	table, err := routing.NewTable(routing.BaseRules())
	if err != nil {
		t.Fatal(err)
	}
	broker := inproc.NewBroker(inproc.Config{})
	defer broker.Close()
	bus := transport.NewRoutedBus(func() (*routing.Table, error) { return table, nil }, broker.Publisher())
	ctx, span := sdktrace.NewTracerProvider().Tracer("t").Start(context.Background(), "loader publish")
	defer span.End()
	env, err := messages.New(&messages.StepStarted{StepEvent: messages.StepEvent{RunRef: messages.RunRef{RunID: "20261121-151600-3fa9c2", Pipeline: "p"},
		Step: "transform", Worker: "transform", Attempt: 1, StartedAt: time.Now()}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Publish(ctx, env); err != nil {
		t.Fatal(err)
	}
	sub := broker.Subscriber()
	defer sub.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := sub.Subscribe(sctx, routing.LedgerQueue)
	if err != nil {
		t.Fatal(err)
	}
	var m *message.Message
	select {
	case m = <-msgs:
		m.Ack()
	case <-sctx.Done():
		t.Fatal("nothing reached the ledger queue")
	}
	want := "00-" + span.SpanContext().TraceID().String() + "-" + span.SpanContext().SpanID().String() + "-01"
	if got := m.Metadata.Get(transport.MetaTraceparent); got != want {
		t.Errorf("traceparent %q, want %q", got, want)
	}
}

// A redriven dead letter keeps its trace context, not its reasons.
func TestRedrivenKeepsTheTraceContext(t *testing.T) {
	_, _, md := transport.DeadLetter{ID: "m", Metadata: map[string]string{
		"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "tracestate": "v=1",
		"dead_letter_reason": "boom", "run_id": "r", "event_id": "e",
	}}.Redriven()
	if md["traceparent"] == "" || md["tracestate"] != "v=1" || md["dead_letter_reason"] != "" || md["run_id"] != "r" {
		t.Errorf("redriven metadata %v", md)
	}
}
