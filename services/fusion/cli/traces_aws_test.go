//go:build traces && aws

package cli

// The traces tier on the aws tier (moto): the same one-trace-per-run
// checks as on the embedded tier, plus the AWS SDK calls each step makes as
// client spans under its span, and a redrive from an SQS dead-letter queue
// that continues the run's trace.

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/services/runtime/awsenv"
	"github.com/fusiondata/fusion/services/runtime/awstest"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/platform"
)

// onAWSTraced is onAWS with every span recorded from the start.
func onAWSTraced(t *testing.T, retries int) (*platform.Platform, awsenv.Clients, *tracetest.SpanRecorder) {
	t.Helper()
	c := awstest.Clients(t)
	prefix, bucket := deployStack(t, c)
	cfg := config.Config{Home: t.TempDir(), Transport: config.TransportAWS, LakeBucket: bucket, S3PathStyle: true,
		EventBus: prefix, QueuePrefix: prefix + "-", TopicPrefix: prefix + "-", SQSVisibility: 10 * time.Second, Retries: retries}
	var rec *tracetest.SpanRecorder
	p := startWith(t, cfg, func(p *platform.Platform) { rec = recordSpansOf(p) })
	return p, c, rec
}

// awsCalls are the AWS SDK's client spans under a span, by name.
func (s spans) awsCalls(under sdktrace.ReadOnlySpan) map[string]int {
	out := map[string]int{}
	for _, sp := range s.all {
		if sp.SpanKind() == trace.SpanKindClient && sp.InstrumentationScope().Name == otelaws.ScopeName && s.stepAbove(sp) == under {
			out[sp.Name()]++
		}
	}
	return out
}

func TestTracesOneTracePerRunOnAWS(t *testing.T) {
	p, c, rec := onAWSTraced(t, 1)
	key := "landing/churn/customers.csv"
	putObject(t, c, p.Config.LakeBucket, key, sampleRows(t, 2000))
	run := waitRun(t, p, key)
	if run.Status != ledger.Succeeded {
		t.Fatalf("run %+v", run)
	}
	s := waitForSpans(t, rec, churnFlowOnce())
	assertOneTrace(t, s, run)

	// Each step's calls to AWS are client spans under it, from its service.
	for name := range churnFlow {
		step := s.one(t, name)
		calls := s.awsCalls(step)
		if calls["EventBridge.PutEvents"] == 0 || calls["DynamoDB.PutItem"]+calls["DynamoDB.UpdateItem"] == 0 {
			t.Errorf("%s: AWS calls %v, want its events put on the bus and its handled mark written", name, calls)
		}
		if !strings.HasPrefix(name, "loader") && calls["S3.PutObject"]+calls["S3.CreateMultipartUpload"] == 0 {
			t.Errorf("%s wrote nothing to S3: %v", name, calls)
		}
	}
	if calls := s.awsCalls(s.one(t, "ingest ingest")); calls["S3.GetObject"] == 0 {
		t.Errorf("ingest did not read the landed object: %v", calls)
	}
	// The results go out under the step's publish span.
	for _, sp := range s.named("EventBridge.PutEvents") {
		if p := s.parent(sp); p == nil || (!strings.HasSuffix(p.Name(), " publish") && !isStep(p)) {
			t.Errorf("PutEvents under %v", p)
		}
		if service(sp) == "" || service(sp) == "fusion" {
			t.Errorf("PutEvents of service %q", service(sp))
		}
	}
	calls := 0
	for _, sp := range s.all {
		if sp.InstrumentationScope().Name == otelaws.ScopeName {
			calls++
		}
	}
	t.Logf("%d spans in trace %s, %d of them AWS calls", len(s.all), run.TraceID, calls)
}

// A run whose transform failed for good sits in the SQS dead-letter queue;
// redriven, it finishes in the trace it started, the redriven transform
// linking the failed attempt, whose dead letter and failure notification
// (SQS, SNS) are client spans under it.
func TestTracesRedrivenRunContinuesItsTraceOnAWS(t *testing.T) {
	p, c, rec := onAWSTraced(t, 0)
	fix := breakTransform(t, p)
	key := "landing/churn/redrive.csv"
	putObject(t, c, p.Config.LakeBucket, key, sampleRows(t, 300))
	run := waitRun(t, p, key)
	if run.Status != ledger.Failed {
		t.Fatalf("run %+v", run)
	}
	fix()
	letters := waitDeadLetters(t, p, run.ID)
	if len(letters) != 1 || letters[0].Metadata["traceparent"] == "" {
		t.Fatalf("dead letters of %s: %+v", run.ID, letters)
	}
	if err := p.DeadLetters().Redrive(context.Background(), letters); err != nil {
		t.Fatal(err)
	}
	waitSucceeded(t, p, run.ID)
	run, err := p.Ledger.Run(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	s := waitForSpans(t, rec, map[string]int{"transform transform": 2, "loader load.curated": 1, "loader load.predictions": 1, "traindata traindata": 1})
	assertRedrivenTrace(t, s, run)
	failed := s.named("transform transform")[0]
	if calls := s.awsCalls(failed); calls["SQS.SendMessageBatch"] == 0 || calls["SNS.Publish"] == 0 {
		t.Errorf("the failed transform's AWS calls %v, want its dead letter (SQS) and failure notification (SNS)", calls)
	}
}
