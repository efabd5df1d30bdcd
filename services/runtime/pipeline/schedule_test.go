package pipeline

import (
	"strings"
	"testing"
	"time"
)

const scheduled = `name: sales
source:
  prefix: incoming/sales/
schedule:
  expression: "cron(0 2 * * ? *)"
  timezone: Europe/Paris
  missed: catch_up
transform:
  sql: SELECT * FROM input
`

func TestSchedule(t *testing.T) {
	p, err := Parse("sales.yaml", []byte(scheduled))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Schedule
	if s == nil || !s.CatchUp() || s.Zone() != "Europe/Paris" {
		t.Fatalf("schedule %+v", s)
	}
	e, err := s.Parsed()
	if err != nil {
		t.Fatal(err)
	}
	if next := e.Next(time.Date(2026, 11, 21, 15, 16, 0, 0, time.UTC)); !next.Equal(time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("next fire %s", next)
	}
	// Defaults: UTC, missed fires skipped.
	p, err = Parse("sales.yaml", []byte(strings.NewReplacer("  timezone: Europe/Paris\n", "", "  missed: catch_up\n", "").Replace(scheduled)))
	if err != nil {
		t.Fatal(err)
	}
	if p.Schedule.CatchUp() || p.Schedule.Zone() != "UTC" {
		t.Errorf("defaults %+v", p.Schedule)
	}
	// A postgres pipeline starts on request too.
	pg := strings.Replace(pgMinimal, "transform:", "schedule: {expression: rate(1 hour)}\ntransform:", 1)
	if _, err := Parse("orders.yaml", []byte(pg)); err != nil {
		t.Errorf("postgres with a schedule: %v", err)
	}
	if got := RequestID(time.Date(2026, 11, 21, 3, 0, 0, 0, time.FixedZone("CET", 3600))); got != "schedule:2026-11-21T02:00:00Z" {
		t.Errorf("request id %q", got)
	}
}

func TestScheduleErrors(t *testing.T) {
	cases := map[string]struct{ yaml, want string }{
		"landing pipeline": {strings.Replace(scheduled, "incoming/sales/", "landing/sales/", 1),
			"sales.yaml:4: schedule: only a pipeline that starts on request may have one"},
		"bad expression": {strings.Replace(scheduled, "cron(0 2 * * ? *)", "cron(0 2 * * * *)", 1),
			`sales.yaml:5: schedule.expression: cron(0 2 * * * *): day-of-month, day-of-week: one of them must be "?"`},
		"rate plural": {strings.Replace(scheduled, "cron(0 2 * * ? *)", "rate(1 days)", 1),
			`sales.yaml:5: schedule.expression: rate(1 days): unit: a value of 1 takes the singular "day"`},
		"no expression": {strings.Replace(scheduled, `  expression: "cron(0 2 * * ? *)"`+"\n", "", 1),
			"schedule.expression: is required"},
		"bad zone": {strings.Replace(scheduled, "Europe/Paris", "Europe/Pariss", 1),
			`sales.yaml:6: schedule.timezone: "Europe/Pariss" is not an IANA time zone name`},
		"bad missed": {strings.Replace(scheduled, "catch_up", "backfill", 1),
			`sales.yaml:7: schedule.missed: must be skip or catch_up (got "backfill")`},
		"unknown field": {strings.Replace(scheduled, "missed: catch_up", "missed: catch_up\n  jitter: 5m", 1),
			`sales.yaml:8: unknown field "jitter" in schedule`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("sales.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v\nwant %q", err, c.want)
			}
		})
	}
}
