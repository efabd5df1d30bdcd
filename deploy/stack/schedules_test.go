package stack

import (
	"encoding/json"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

const scheduledSales = `name: sales_daily
source: {prefix: incoming/sales/}
schedule: {expression: "cron(30 2 * * ? *)", timezone: Europe/Paris, missed: catch_up}
transform: {sql: SELECT * FROM input}
`

func renderOnly(t *testing.T, defs ...string) template {
	t.Helper()
	var ps []*pipeline.Pipeline
	for _, d := range defs {
		p, err := pipeline.Parse("p.yaml", []byte(d))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	b, err := Render(ps)
	if err != nil {
		t.Fatal(err)
	}
	var tpl template
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	return tpl
}

// A pipeline's schedule renders into an EventBridge Scheduler schedule
// that puts the local scheduler's request on the bus.
func TestScheduleRendered(t *testing.T) {
	tpl := renderOnly(t, scheduledSales)
	res, ok := tpl.Resources["ScheduleSalesDaily"]
	if !ok || res.Type != "AWS::Scheduler::Schedule" {
		t.Fatalf("no schedule: %+v", res)
	}
	p := res.Properties
	if p["ScheduleExpression"] != "cron(30 2 * * ? *)" || p["ScheduleExpressionTimezone"] != "Europe/Paris" ||
		mustYAML(p["FlexibleTimeWindow"]) != "Mode: \"OFF\"\n" || mustYAML(p["Name"]) != "Fn::Sub: ${Prefix}-sales_daily\n" {
		t.Errorf("schedule %s", mustYAML(p))
	}
	target := p["Target"].(map[string]any)
	for key, want := range map[string]string{
		"Arn": "Bus", "RoleArn": "SchedulerRole", "DeadLetterConfig": "SchedulesDeadLetterQueue",
	} {
		if !strings.Contains(mustYAML(target[key]), want) {
			t.Errorf("target %s: %s, want %s", key, mustYAML(target[key]), want)
		}
	}
	eb := target["EventBridgeParameters"].(map[string]any)
	if eb["DetailType"] != messages.TypeIngestRequested || eb["Source"] != messages.SourceControl {
		t.Errorf("eventbridge parameters %v", eb)
	}
	if retry := target["RetryPolicy"].(map[string]any); retry["MaximumRetryAttempts"] != scheduleRetries {
		t.Errorf("retry policy %v", retry)
	}
	// The input, with the due time the scheduler puts in, is a valid request.
	input := strings.ReplaceAll(target["Input"].(string), "<aws.scheduler.scheduled-time>", "2026-11-21T01:30:00Z")
	var rq messages.IngestRequested
	if err := json.Unmarshal([]byte(input), &rq); err != nil || rq.Validate() != nil || rq.Pipeline != "sales_daily" ||
		rq.RequestID != "schedule:2026-11-21T01:30:00Z" || rq.RequestedBy != ScheduleRequestedBy {
		t.Errorf("input %q: %+v %v", target["Input"], rq, err)
	}
	if _, ok := tpl.Resources["SchedulerDeadLetterPolicy"]; !ok {
		t.Error("the scheduler role may not send to the dead-letter queue")
	}
	// The ingest worker reads the snapshot prefix.
	pol, ok := tpl.Resources["IngestSnapshotReadPolicy"]
	if !ok || !strings.Contains(mustYAML(pol.Properties), "/incoming/sales/*") || !strings.Contains(mustYAML(pol.Properties), "IngestRole") {
		t.Errorf("snapshot read policy %s", mustYAML(pol.Properties))
	}
}

// No schedule, no scheduler resources; a snapshot of the raw zone needs no
// extra read.
func TestNoScheduleRendersNone(t *testing.T) {
	tpl := renderOnly(t, "name: orders\ntransform: {sql: SELECT 1}\n", "name: history\nsource: {prefix: raw/orders/}\ntransform: {sql: SELECT 1}\n")
	for id, res := range tpl.Resources {
		if res.Type == "AWS::Scheduler::Schedule" || id == schedulesDLQID || id == "SchedulerDeadLetterPolicy" || id == "IngestSnapshotReadPolicy" {
			t.Errorf("%s rendered without a schedule or an unreadable snapshot", id)
		}
	}
}

func TestScheduleName(t *testing.T) {
	if ScheduleName("sales_daily") != "sales_daily" {
		t.Error(ScheduleName("sales_daily"))
	}
	long := strings.Repeat("a", 60)
	if n := ScheduleName(long); len(n) != 42 || n == ScheduleName(strings.Repeat("a", 59)+"b") {
		t.Errorf("%q", n)
	}
}
