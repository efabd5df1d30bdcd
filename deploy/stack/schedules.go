package stack

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// Schedules on AWS: each pipeline's schedule becomes an EventBridge
// Scheduler schedule that puts the same fusion.ingest.requested.v1 event
// the local scheduler publishes onto the stack's bus, with the request id
// templated from the time the fire was due. EventBridge Scheduler never
// fires missed schedules, so schedule.missed is the local scheduler's
// alone. Fires that fail to reach the bus after the retries go to the
// schedules' dead-letter queue.
const (
	schedulesDLQID     = "SchedulesDeadLetterQueue"
	schedulesDLQSuffix = "schedules-dlq"
	// ScheduleRequestedBy names EventBridge Scheduler in the requests it sends.
	ScheduleRequestedBy = "eventbridge scheduler"
	// scheduleRetryAge and scheduleRetries: a fire keeps trying for a day.
	scheduleRetryAge = 86400
	scheduleRetries  = 185
)

func scheduleID(pipelineName string) string { return "Schedule" + logicalID(pipelineName) }

// ScheduleName is the EventBridge Scheduler name of a pipeline's schedule
// after the stack's prefix: 1-64 of [0-9a-zA-Z-_.] with the prefix (at most
// 21) and a dash, so long pipeline names are cut and keep a hash.
func ScheduleName(pipelineName string) string {
	const room = 64 - 22
	if len(pipelineName) <= room {
		return pipelineName
	}
	h := sha1.Sum([]byte(pipelineName))
	return pipelineName[:room-7] + "-" + hex.EncodeToString(h[:3])
}

// ScheduleInput is the event detail a pipeline's schedule sends; the
// scheduler replaces <aws.scheduler.scheduled-time> with the due time
// (2026-11-21T02:00:00Z), so the request id is the local scheduler's.
func ScheduleInput(pipelineName string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the scheduler substitutes <aws.scheduler.scheduled-time> as written
	enc.Encode(struct {
		Pipeline    string `json:"pipeline"`
		RequestID   string `json:"request_id"`
		RequestedBy string `json:"requested_by"`
	}{pipelineName, messages.ScheduledPrefix + "<aws.scheduler.scheduled-time>", ScheduleRequestedBy})
	return strings.TrimSuffix(b.String(), "\n")
}

// scheduled returns the pipelines with a schedule, by name.
func scheduled(pipelines []*pipeline.Pipeline) []*pipeline.Pipeline {
	var out []*pipeline.Pipeline
	for _, p := range pipelines {
		if p.Schedule != nil {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// addSchedules adds one AWS::Scheduler::Schedule per scheduled pipeline,
// their dead-letter queue, and the scheduler role's right to use it (the
// role itself, allowed to put events on the bus, is in compute.go).
func addSchedules(add func(string, m), pipelines []*pipeline.Pipeline) {
	ps := scheduled(pipelines)
	if len(ps) == 0 {
		return
	}
	add(schedulesDLQID, m{"Type": "AWS::SQS::Queue", "Properties": m{
		"QueueName": prefixed(schedulesDLQSuffix), "MessageRetentionPeriod": 1209600,
	}})
	add("SchedulerDeadLetterPolicy", m{"Type": "AWS::IAM::Policy", "Properties": m{
		"PolicyName":     "schedules-dead-letters",
		"Roles":          []any{ref("SchedulerRole")},
		"PolicyDocument": policy(stmt("sqs:SendMessage", arnOf(schedulesDLQID))),
	}})
	for _, p := range ps {
		add(scheduleID(p.Name), m{"Type": "AWS::Scheduler::Schedule", "Properties": m{
			"Name":                       prefixed(ScheduleName(p.Name)),
			"Description":                fmt.Sprintf("Starts a run of pipeline %s (%s)", p.Name, strings.TrimSpace(p.Schedule.Expression)),
			"ScheduleExpression":         strings.TrimSpace(p.Schedule.Expression),
			"ScheduleExpressionTimezone": p.Schedule.Zone(),
			"FlexibleTimeWindow":         m{"Mode": "OFF"},
			"State":                      "ENABLED",
			"Target": m{
				"Arn":                   arnOf("Bus"),
				"RoleArn":               arnOf("SchedulerRole"),
				"Input":                 ScheduleInput(p.Name),
				"EventBridgeParameters": m{"DetailType": messages.TypeIngestRequested, "Source": messages.SourceControl},
				"RetryPolicy":           m{"MaximumEventAgeInSeconds": scheduleRetryAge, "MaximumRetryAttempts": scheduleRetries},
				"DeadLetterConfig":      m{"Arn": arnOf(schedulesDLQID)},
			},
		}})
	}
}
