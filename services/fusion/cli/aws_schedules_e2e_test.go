//go:build aws

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/fusiondata/fusion/deploy"
	"github.com/fusiondata/fusion/deploy/stack"
	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/fusion/sample"
	"github.com/fusiondata/fusion/services/runtime/awsenv"
	"github.com/fusiondata/fusion/services/runtime/awstest"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// Every pipeline schedule is an EventBridge Scheduler schedule after the
// stack is applied (moto's CloudFormation skips them; apply makes sure of
// them): the pipeline's expression and time zone, the stack's bus as the
// target, the event the local scheduler publishes, retries and the
// schedules' dead-letter queue.
func TestAWSSchedulesDeployed(t *testing.T) {
	c := awstest.Clients(t)
	prefix, _ := deployStack(t, c)
	reg, err := pipeline.NewRegistry(deploy.Pipelines(), "deploy/pipelines")
	if err != nil {
		t.Fatal(err)
	}
	checkSchedules(t, c, prefix, reg.All())
}

func checkSchedules(t *testing.T, c awsenv.Clients, prefix string, pipelines []*pipeline.Pipeline) {
	t.Helper()
	ctx := context.Background()
	bus, err := c.EventBridge.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	sc := scheduler.NewFromConfig(c.Config)
	n := 0
	for _, p := range pipelines {
		if p.Schedule == nil {
			continue
		}
		n++
		got, err := sc.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(prefix + "-" + stack.ScheduleName(p.Name))})
		if err != nil {
			t.Errorf("%s: %v", p.Name, err)
			continue
		}
		if aws.ToString(got.ScheduleExpression) != p.Schedule.Expression || aws.ToString(got.ScheduleExpressionTimezone) != p.Schedule.Zone() ||
			got.State != schedtypes.ScheduleStateEnabled || got.FlexibleTimeWindow == nil || got.FlexibleTimeWindow.Mode != schedtypes.FlexibleTimeWindowModeOff {
			t.Errorf("%s: expression %q in %q, state %s, window %+v", p.Name, aws.ToString(got.ScheduleExpression), aws.ToString(got.ScheduleExpressionTimezone), got.State, got.FlexibleTimeWindow)
		}
		tg := got.Target
		if tg == nil || aws.ToString(tg.Arn) != aws.ToString(bus.Arn) || !strings.Contains(aws.ToString(tg.RoleArn), ":role/") {
			t.Fatalf("%s: target %+v, want the bus %s", p.Name, tg, aws.ToString(bus.Arn))
		}
		if eb := tg.EventBridgeParameters; eb == nil || aws.ToString(eb.DetailType) != messages.TypeIngestRequested || aws.ToString(eb.Source) != messages.SourceControl {
			t.Errorf("%s: eventbridge parameters %+v", p.Name, eb)
		}
		if tg.DeadLetterConfig == nil || !strings.HasSuffix(aws.ToString(tg.DeadLetterConfig.Arn), ":"+prefix+"-schedules-dlq") ||
			tg.RetryPolicy == nil || aws.ToInt32(tg.RetryPolicy.MaximumRetryAttempts) == 0 {
			t.Errorf("%s: dead letters %+v, retries %+v", p.Name, tg.DeadLetterConfig, tg.RetryPolicy)
		}
		// The input is the detail of the local scheduler's request once the
		// scheduler puts the due time in.
		input := strings.ReplaceAll(aws.ToString(tg.Input), "<aws.scheduler.scheduled-time>", "2026-11-21T01:30:00Z")
		var rq messages.IngestRequested
		if err := json.Unmarshal([]byte(input), &rq); err != nil {
			t.Fatalf("%s: input %q: %v", p.Name, aws.ToString(tg.Input), err)
		}
		if rq.Pipeline != p.Name || rq.RequestID != "schedule:2026-11-21T01:30:00Z" || rq.RequestedBy != stack.ScheduleRequestedBy || rq.Validate() != nil {
			t.Errorf("%s: input %q", p.Name, aws.ToString(tg.Input))
		}
	}
	if n == 0 {
		t.Fatal("no sample pipeline has a schedule")
	}
	// Exactly the pipelines' schedules under the stack's prefix.
	list, err := sc.ListSchedules(ctx, &scheduler.ListSchedulesInput{NamePrefix: aws.String(prefix + "-")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Schedules) != n {
		t.Errorf("%d schedules under %s-, want %d", len(list.Schedules), prefix, n)
	}
}

// What EventBridge Scheduler does when sales_daily falls due — put the
// schedule's input, the due time templated in, on its target bus — runs
// the pipeline on the aws tier: a snapshot of the S3 prefix, loaded.
func TestAWSScheduledSnapshotRun(t *testing.T) {
	p, c := onAWS(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		day := salesWeek.AddDate(0, 0, i)
		var b bytes.Buffer
		if err := sample.SalesDay(&b, day, 50, 3); err != nil {
			t.Fatal(err)
		}
		putObject(t, c, p.Config.LakeBucket, salesFile("incoming/sales/", day), b.Bytes())
	}
	sc := scheduler.NewFromConfig(c.Config)
	s, err := sc.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(p.Config.EventBus + "-" + stack.ScheduleName("sales_daily"))})
	if err != nil {
		t.Fatal(err)
	}
	const due = "2026-11-21T01:30:00Z"
	detail := strings.ReplaceAll(aws.ToString(s.Target.Input), "<aws.scheduler.scheduled-time>", due)
	out, err := c.EventBridge.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: s.Target.Arn, DetailType: s.Target.EventBridgeParameters.DetailType, Source: s.Target.EventBridgeParameters.Source, Detail: &detail,
	}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("put events: %v %+v", err, out)
	}
	rq := &messages.IngestRequested{Pipeline: "sales_daily", RequestID: "schedule:" + due}
	run := rq.StartRun(messages.Envelope{Time: time.Now()})
	waitSucceeded(t, p, run.RunID)
	if got, want := salesTable(t, p.Config.Home), salesAggregates(t, 2, 50, 3); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sales_daily:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r, _ := p.Ledger.Run(ctx, run.RunID); r.Input != "incoming/sales/" || !strings.HasPrefix(r.ID, "20261121-013000-") {
		t.Errorf("run %+v", r)
	}
}
