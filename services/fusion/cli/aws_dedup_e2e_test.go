//go:build aws

package cli

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/awsenv"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
)

// TestAWSRepublishedEventRunsOnceAcrossTasks: EventBridge gives every
// PutEvents its own id, so a fact published again — by a handler that
// reran after a crash between publishing and marking — arrives with new
// ids; and on ECS each task has a home of its own. Task 1 runs the churn
// pipeline end to end; then the run's "dataset ingested" event is sent
// three more times, each with a new envelope id, to task 2, a second
// platform with a fresh home sharing only the deployment's DynamoDB table.
// The transform step still ran once, and every row is loaded once.
func TestAWSRepublishedEventRunsOnceAcrossTasks(t *testing.T) {
	p1, c := onAWS(t)
	spans1 := recordSpans(p1)
	key := "landing/churn/dedup.csv"
	putObject(t, c, p1.Config.LakeBucket, key, sampleCSV(t, 300))
	r := waitRun(t, p1, key)
	if r.Status != ledger.Succeeded {
		t.Fatalf("run %+v", r)
	}
	ctx := context.Background()
	raw, err := p1.Deps.Catalog.Get(ctx, "churn.raw", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The event ingest published, as a rerun of ingest would publish it again.
	ingested, err := messages.New(&messages.DatasetIngested{
		RunRef: messages.RunRef{RunID: r.ID, Pipeline: "churn"},
		Source: messages.ObjectRef{Bucket: p1.Config.LakeBucket, Key: key},
		Raw:    messages.ObjectRef{Bucket: p1.Config.LakeBucket, Key: strings.TrimSuffix(raw.Objects[0], ".parquet") + ".csv"},
		Dataset: messages.DatasetRef{Name: raw.Name, Zone: raw.Zone, Format: raw.Format, Objects: raw.Objects,
			Schema: raw.Schema, Rows: raw.Rows, Bytes: raw.Bytes},
	}, r.StartedAt)
	if err != nil {
		t.Fatal(err)
	}

	// Task 2: its own home and metastore; only the dedup table is shared.
	// It consumes transform events from a queue of its own, so that the
	// copies reach it and not task 1.
	cfg := p1.Config
	cfg.Home = t.TempDir()
	cfg.QueuePrefix = p1.Config.QueuePrefix + "t2-"
	cfg.DedupTable = p1.Config.DedupTable
	for _, q := range []string{pipeline.WorkerTransform, pipeline.WorkerTransform + "-dlq"} {
		if _, err := c.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(cfg.QueuePrefix + q)}); err != nil {
			t.Fatal(err)
		}
	}
	var logs syncBuffer
	p2, err := platform.Open(cfg, (&app{cfg: cfg}).logger(&logs))
	if err != nil {
		t.Fatal(err)
	}
	spans2 := recordSpans(p2)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p2.Run(runCtx, platform.RunOptions{Workers: []string{pipeline.WorkerTransform}}) }()
	t.Cleanup(func() {
		cancel()
		<-done
		p2.Close()
		if t.Failed() {
			t.Log("task 2:\n" + logs.String())
		}
	})

	for i := range 3 {
		again := ingested
		again.ID = uuid.NewString() // as EventBridge assigns on every PutEvents
		body, err := again.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		send(t, c, p2, pipeline.WorkerTransform, string(body))
		t.Logf("copy %d: envelope id %s", i+1, again.ID)
	}
	deadline := time.Now().Add(time.Minute)
	for strings.Count(logs.String(), "event already handled") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("task 2 did not acknowledge the 3 copies as handled (transform spans: %d)", stepRuns(spans2, "transform", r.ID))
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitDrained(t, c, cfg.QueuePrefix+pipeline.WorkerTransform)

	if n := stepRuns(spans1, "transform", r.ID) + stepRuns(spans2, "transform", r.ID); n != 1 {
		t.Errorf("transform ran %d times for run %s, want 1 (task 1: %d, task 2: %d)", n, r.ID, stepRuns(spans1, "transform", r.ID), stepRuns(spans2, "transform", r.ID))
	}
	for _, st := range r.Steps {
		if n := stepRuns(spans1, st.Name, r.ID) + stepRuns(spans2, st.Name, r.ID); n != 1 {
			t.Errorf("step %s ran %d times, want 1", st.Name, n)
		}
	}
	if got := query(t, p1.Config.Home, "SELECT count(*), count(DISTINCT customer_id) FROM churn_customers"); got[0][0] == "0" || got[0][0] != got[0][1] {
		t.Errorf("churn_customers %v, want every customer once", got)
	}
}

// recordSpans adds a span recorder to a platform's tracer provider: one span
// per handler invocation, so its spans count the steps that ran.
func recordSpans(p *platform.Platform) *tracetest.SpanRecorder {
	rec := tracetest.NewSpanRecorder()
	p.Tracing.RegisterSpanProcessor(rec)
	return rec
}

// stepRuns counts the ended handler invocations of a step of a run, by
// their fusion.run_id and fusion.step attributes.
func stepRuns(rec *tracetest.SpanRecorder, step, runID string) int {
	n := 0
	for _, s := range rec.Ended() {
		var run, name string
		for _, a := range s.Attributes() {
			switch a.Key {
			case attribute.Key("fusion.run_id"):
				run = a.Value.AsString()
			case attribute.Key("fusion.step"):
				name = a.Value.AsString()
			}
		}
		if run == runID && name == step {
			n++
		}
	}
	return n
}

// waitDrained waits until a queue holds no message, visible or in flight.
func waitDrained(t *testing.T, c awsenv.Clients, queue string) {
	t.Helper()
	ctx := context.Background()
	url, err := c.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: &queue})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			t.Fatal(err)
		}
		visible, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
		hidden, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
		if visible+hidden == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still holds %d messages", queue, visible+hidden)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// syncBuffer is a log destination safe to read while handlers write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
