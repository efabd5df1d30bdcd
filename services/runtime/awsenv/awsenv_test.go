//go:build aws

package awsenv_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/fusiondata/fusion/services/runtime/awstest"
)

// Calls made inside a span are client spans under it; calls outside any
// span record nothing.
func TestCallsInsideASpanAreTraced(t *testing.T) {
	c := awstest.Clients(t)
	rec := tracetest.NewSpanRecorder()
	ctx, step := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("t").Start(context.Background(), "loader load.curated")
	if _, err := c.SQS.ListQueues(context.Background(), &sqs.ListQueuesInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SQS.ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		t.Fatal(err)
	}
	step.End()
	spans := rec.Ended()
	if len(spans) != 2 || spans[0].Name() != "SQS.ListQueues" || spans[0].Parent().SpanID() != step.SpanContext().SpanID() {
		t.Fatalf("spans %v", spans)
	}
}
