package pipeline

import (
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/schedule"
)

// Schedule starts runs of a pipeline at set times, in EventBridge
// Scheduler's syntax: the local scheduler of `fusion run` fires it on the
// embedded tier, and `fusion deploy` renders it into an EventBridge
// Scheduler schedule on AWS. Each fire is a fusion.ingest.requested.v1
// event whose request id is "schedule:" and the scheduled time, so only a
// pipeline that starts on requests (StartsOnRequest) may have one.
type Schedule struct {
	// Expression is rate(value unit) or cron(minutes hours day-of-month
	// month day-of-week year), e.g. "cron(0 2 * * ? *)".
	Expression string `yaml:"expression"`
	// Timezone is the IANA zone a cron expression's wall clock is read
	// in; UTC by default.
	Timezone string `yaml:"timezone"`
	// Missed says what the local scheduler does, when fusion starts, with
	// the fires that fell while it was down: skip them (the default) or
	// catch_up, firing each, oldest first. EventBridge Scheduler never
	// fires missed schedules.
	Missed string `yaml:"missed"`
}

// What the local scheduler does with missed fires.
const (
	MissedSkip    = "skip"
	MissedCatchUp = "catch_up"
)

// CatchUp reports whether missed fires are fired late.
func (s *Schedule) CatchUp() bool { return s.Missed == MissedCatchUp }

// Zone is the schedule's time zone name, UTC by default.
func (s *Schedule) Zone() string {
	if s.Timezone == "" {
		return "UTC"
	}
	return s.Timezone
}

// Parsed returns the schedule's expression, ready to compute fires.
func (s *Schedule) Parsed() (*schedule.Expression, error) {
	loc, err := schedule.LoadLocation(s.Timezone)
	if err != nil {
		return nil, err
	}
	return schedule.Parse(s.Expression, loc)
}

// RequestID is the request id of the fire scheduled at at, the same on
// every tier: "schedule:" and the time in RFC 3339, UTC.
func RequestID(at time.Time) string {
	return messages.ScheduledPrefix + at.UTC().Format(time.RFC3339)
}

// validateSchedule checks a pipeline's schedule block.
func (v *validator) validateSchedule(p *Pipeline) {
	s := p.Schedule
	if s == nil {
		return
	}
	if _, ok := p.StepFor(WorkerIngest, messages.TypeIngestRequested); !ok {
		v.add("schedule", "only a pipeline that starts on request may have one — a postgres source, a snapshot prefix outside landing/ or a lambda batch layer; files landing under %s start their own runs", p.Source.Prefix)
	}
	loc, err := schedule.LoadLocation(s.Timezone)
	if err != nil {
		v.add("schedule.timezone", "%v", err)
	}
	if s.Expression == "" {
		v.add("schedule.expression", `is required: rate(value unit) or cron(minutes hours day-of-month month day-of-week year), e.g. "cron(0 2 * * ? *)"`)
	} else if _, err := schedule.Parse(s.Expression, loc); err != nil {
		v.add("schedule.expression", "%v", err)
	}
	switch s.Missed {
	case "", MissedSkip, MissedCatchUp:
	default:
		v.add("schedule.missed", "must be skip or catch_up (got %q)", s.Missed)
	}
}
