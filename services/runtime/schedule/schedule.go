// Package schedule reads EventBridge Scheduler's schedule expressions —
// rate(value unit) and cron(minutes hours day-of-month month day-of-week
// year) — and computes when they fire, in the schedule's time zone, the way
// EventBridge Scheduler does. Pipelines write their schedules in this
// syntax so that the local scheduler and the deployed EventBridge Scheduler
// read the same text.
package schedule

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones even where the system has none (slim containers)
)

// Expression is a parsed recurring schedule expression.
type Expression struct {
	text string
	loc  *time.Location
	rate time.Duration // a rate expression
	cron *cron         // a cron expression
}

// Parse reads a rate or cron expression evaluated in loc (UTC when nil).
// Errors name the part of the expression at fault, e.g.
// `cron(0 25 * * ? *): hours: 25 is outside 0-23`.
func Parse(expr string, loc *time.Location) (*Expression, error) {
	if loc == nil {
		loc = time.UTC
	}
	text := strings.TrimSpace(expr)
	e := &Expression{text: text, loc: loc}
	var err error
	switch {
	case strings.HasPrefix(text, "rate(") && strings.HasSuffix(text, ")"):
		e.rate, err = parseRate(text[len("rate(") : len(text)-1])
	case strings.HasPrefix(text, "cron(") && strings.HasSuffix(text, ")"):
		e.cron, err = parseCron(text[len("cron(") : len(text)-1])
	case strings.HasPrefix(text, "at("):
		err = fmt.Errorf("one-time at() schedules are not supported: use a cron or rate expression")
	default:
		err = fmt.Errorf(`must be "rate(value unit)" or "cron(minutes hours day-of-month month day-of-week year)"`)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", text, err)
	}
	return e, nil
}

// LoadLocation resolves a schedule's time zone: an IANA name such as
// Europe/Paris, UTC when empty.
func LoadLocation(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if strings.HasPrefix(name, "/") || strings.Contains(name, "..") || strings.EqualFold(name, "local") {
		return nil, fmt.Errorf("%q is not an IANA time zone name", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IANA time zone name (such as UTC or Europe/Paris)", name)
	}
	return loc, nil
}

// String returns the expression as written.
func (e *Expression) String() string { return e.text }

// Location is the time zone the expression is evaluated in.
func (e *Expression) Location() *time.Location { return e.loc }

// Rate is the interval of a rate expression; 0 for a cron expression.
func (e *Expression) Rate() time.Duration { return e.rate }

// Next returns the first fire strictly after after, or the zero time when
// the schedule never fires again (a cron expression past its last year).
//
// A cron expression fires at whole minutes of the wall clock of its time
// zone. Across daylight-saving changes it behaves as EventBridge Scheduler
// does: a wall-clock time the spring change skips does not fire, and one
// the autumn change repeats fires once, at its first occurrence.
//
// A rate expression has no calendar: it fires every interval after a
// starting point (EventBridge Scheduler counts from the schedule's start
// date), so Next(t) is t plus the interval, with days of 24 hours.
func (e *Expression) Next(after time.Time) time.Time {
	if e.cron == nil {
		return after.Add(e.rate)
	}
	return e.cron.next(after, e.loc)
}
