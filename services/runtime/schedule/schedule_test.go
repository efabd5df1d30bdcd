package schedule

import (
	"strings"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// fires returns the next n fires after a time.
func fires(t *testing.T, e *Expression, after time.Time, n int) []string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		after = e.Next(after)
		if after.IsZero() {
			out = append(out, "never")
			break
		}
		out = append(out, after.UTC().Format(time.RFC3339))
	}
	return out
}

// 2026-11-21 is a Saturday.
const saturday = "2026-11-21T15:16:00Z"

func TestNext(t *testing.T) {
	cases := []struct {
		expr, tz, after string
		want            []string
	}{
		// The examples of AWS's "Schedule types on EventBridge Scheduler".
		{"cron(0 10 * * ? *)", "", saturday, []string{"2026-11-22T10:00:00Z", "2026-11-23T10:00:00Z"}},
		{"cron(15 12 * * ? *)", "", saturday, []string{"2026-11-22T12:15:00Z", "2026-11-23T12:15:00Z"}},
		{"cron(0 18 ? * MON-FRI *)", "", saturday, []string{"2026-11-23T18:00:00Z", "2026-11-24T18:00:00Z"}},
		{"cron(0 8 1 * ? *)", "", saturday, []string{"2026-12-01T08:00:00Z", "2027-01-01T08:00:00Z"}},
		{"cron(0/15 * * * ? *)", "", saturday, []string{"2026-11-21T15:30:00Z", "2026-11-21T15:45:00Z", "2026-11-21T16:00:00Z"}},
		{"cron(0/10 * ? * MON-FRI *)", "", saturday, []string{"2026-11-23T00:00:00Z", "2026-11-23T00:10:00Z"}},
		{"cron(0/5 8-17 ? * MON-FRI *)", "", "2026-11-23T17:54:00Z", []string{"2026-11-23T17:55:00Z", "2026-11-24T08:00:00Z"}},
		{"cron(0 9 ? * 2#1 *)", "", saturday, []string{"2026-12-07T09:00:00Z", "2027-01-04T09:00:00Z"}},
		// The rest of the documented syntax.
		{"cron(1/10 * * * ? *)", "", saturday, []string{"2026-11-21T15:21:00Z", "2026-11-21T15:31:00Z"}},
		{"cron(0 0 L * ? *)", "", saturday, []string{"2026-11-30T00:00:00Z", "2026-12-31T00:00:00Z", "2027-01-31T00:00:00Z", "2027-02-28T00:00:00Z"}},
		{"cron(0 0 LW * ? *)", "", "2026-12-31T00:00:00Z", []string{"2027-01-29T00:00:00Z"}},
		{"cron(0 0 1W * ? *)", "", "2026-07-15T00:00:00Z", []string{"2026-08-03T00:00:00Z", "2026-09-01T00:00:00Z"}},
		{"cron(0 0 31W * ? *)", "", "2026-05-01T00:00:00Z", []string{"2026-05-29T00:00:00Z", "2026-07-31T00:00:00Z"}},
		{"cron(0 12 ? * 6L *)", "", saturday, []string{"2026-11-27T12:00:00Z", "2026-12-25T12:00:00Z"}},
		{"cron(0 0 ? * L *)", "", saturday, []string{"2026-11-28T00:00:00Z"}},
		{"cron(0 0 ? * sun,7 *)", "", saturday, []string{"2026-11-22T00:00:00Z", "2026-11-28T00:00:00Z"}},
		{"cron(0 0 1 JAN,jul ? *)", "", saturday, []string{"2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z"}},
		{"cron(0 0 29 FEB ? *)", "", saturday, []string{"2028-02-29T00:00:00Z"}},
		{"cron(0 0 1 1 ? 2027-2028)", "", saturday, []string{"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "never"}},
		{"cron(0 0 1 1 ? 2030/5)", "", saturday, []string{"2030-01-01T00:00:00Z", "2035-01-01T00:00:00Z"}},
		{"cron(0,30 9-10/1 15 * ? *)", "", saturday, []string{"2026-12-15T09:00:00Z", "2026-12-15T09:30:00Z", "2026-12-15T10:00:00Z", "2026-12-15T10:30:00Z", "2027-01-15T09:00:00Z"}},
		{"cron(* * * * ? *)", "", "2026-11-21T15:16:30Z", []string{"2026-11-21T15:17:00Z", "2026-11-21T15:18:00Z"}},
		// Time zones: the wall clock of the zone.
		{"cron(0 2 * * ? *)", "Europe/Paris", saturday, []string{"2026-11-22T01:00:00Z"}},
		{"cron(0 2 * * ? *)", "Asia/Kolkata", saturday, []string{"2026-11-21T20:30:00Z"}},
		// Spring forward (Paris, 29 March 2026, 02:00 -> 03:00): 02:30 does not exist that day.
		{"cron(30 2 * * ? *)", "Europe/Paris", "2026-03-27T12:00:00Z", []string{"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"}},
		// Autumn back (Paris, 25 October 2026, 03:00 -> 02:00): 02:30 fires once, the first time.
		{"cron(30 2 * * ? *)", "Europe/Paris", "2026-10-24T12:00:00Z", []string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		{"cron(0/30 * * * ? *)", "Europe/Paris", "2026-10-25T00:15:00Z", []string{"2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z"}},
		{"cron(0 1 * * ? *)", "America/New_York", "2026-10-31T12:00:00Z", []string{"2026-11-01T05:00:00Z", "2026-11-02T06:00:00Z"}},
		// Rates have no calendar: every interval, days of 24 hours even across a change.
		{"rate(5 minutes)", "", saturday, []string{"2026-11-21T15:21:00Z", "2026-11-21T15:26:00Z"}},
		{"rate(1 hour)", "", saturday, []string{"2026-11-21T16:16:00Z"}},
		{"rate(1 day)", "Europe/Paris", "2026-10-24T12:00:00Z", []string{"2026-10-25T12:00:00Z"}},
		{"rate(2 days)", "", saturday, []string{"2026-11-23T15:16:00Z"}},
	}
	for _, c := range cases {
		loc, err := LoadLocation(c.tz)
		if err != nil {
			t.Fatal(err)
		}
		e, err := Parse(c.expr, loc)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if got := fires(t, e, utc(c.after), len(c.want)); strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s in %s after %s:\n got %v\nwant %v", c.expr, loc, c.after, got, c.want)
		}
	}
}

// Every fire of a cron expression in a zone with daylight-saving changes,
// over a year: each is a whole minute, strictly increasing, at 02:30 on the
// zone's wall clock, once a day but on the day 02:30 does not exist.
func TestNextOverAYear(t *testing.T) {
	loc, _ := LoadLocation("Europe/Paris")
	e, err := Parse("cron(30 2 * * ? *)", loc)
	if err != nil {
		t.Fatal(err)
	}
	at := utc("2026-01-01T00:00:00Z")
	n := 0
	for {
		next := e.Next(at)
		if next.Year() != 2026 {
			break
		}
		if !next.After(at) || next.Second() != 0 {
			t.Fatalf("after %s: %s", at, next)
		}
		if w := next.In(loc); w.Hour() != 2 || w.Minute() != 30 {
			t.Fatalf("fire at %s", w)
		}
		at = next
		n++
	}
	if n != 364 {
		t.Errorf("%d fires in 2026, want 364 (365 days, one without 02:30)", n)
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"rate(1 hours)":                   "unit: a value of 1 takes the singular \"hour\"",
		"rate(5 hour)":                    "unit: a value of 5 takes the plural \"hours\"",
		"rate(0 minutes)":                 "value: \"0\" is not a positive whole number",
		"rate(-5 minutes)":                "value: \"-5\" is not a positive whole number",
		"rate(five minutes)":              "value: \"five\"",
		"rate(2 weeks)":                   "unit: \"weeks\" must be minute(s), hour(s) or day(s)",
		"rate(5)":                         "a rate is rate(value unit)",
		"rate(100000 days)":               "longer than 100 years",
		"cron(0 10 * * ?)":                "six fields",
		"cron(60 * * * ? *)":              "minutes: \"60\": 60 is outside 0-59",
		"cron(0 25 * * ? *)":              "hours: \"25\": 25 is outside 0-23",
		"cron(0 10 * * * *)":              "one of them must be \"?\"",
		"cron(0 10 ? * ? *)":              "not both",
		"cron(0 10 ? * MON/2 *)":          "day-of-week: \"MON/2\": / is not allowed in day-of-week",
		"cron(0 10 ? * 8 *)":              "day-of-week: \"8\": 8 is outside 1-7 (or SUN-SAT)",
		"cron(0 10 ? * 2#6 *)":            "the k of n#k must be 1-5",
		"cron(0 10 ? * X#2 *)":            "day-of-week: \"X#2\"",
		"cron(0 10 * * ? 1969)":           "year: \"1969\": 1969 is outside 1970-2199",
		"cron(0 10 * FOO ? *)":            "month: \"FOO\"",
		"cron(0 10 5-1 * ? *)":            "the range 5-1 runs backwards",
		"cron(0 10 1,L * ? *)":            "L, LW and nW stand alone",
		"cron(0 10 32W * ? *)":            "32 is outside 1-31",
		"cron(0 10 ? * 2W *)":             "W belongs to day-of-month",
		"cron(0 10 3#1 * ? *)":            "# belongs to day-of-week",
		"cron(0/0 * * * ? *)":             "the step after / must be a positive whole number",
		"cron(0 ? * * ? *)":               "hours does not take \"?\"",
		"cron(0 1,,2 * * ? *)":            "an empty list item",
		"at(2026-11-21T02:00:00)":         "one-time at() schedules are not supported",
		"every day":                       "must be \"rate(value unit)\" or \"cron(",
		"cron(0 10 * * ? *) and then":     "must be \"rate(value unit)\" or \"cron(",
		"cron(0 25 32 * ? *)":             "hours: \"25\"", // both reported
		"cron(0 0 1 1 ? 2027-2028/0)":     "step",
		"rate(1 minute) ":                 "", // surrounding space is fine
		"  cron(0 2 * * ? *)":             "",
		"cron(0 18 ? * MON-FRI *)":        "",
		"cron(0 0 ? * FRI-MON *)":         "the range FRI-MON runs backwards",
		"cron(0 0 1-31/2 JAN-DEC ? 2026)": "",
	}
	for expr, want := range cases {
		_, err := Parse(expr, nil)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", expr, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: error %v, want %q", expr, err, want)
		case err != nil && !strings.HasPrefix(err.Error(), strings.TrimSpace(expr)):
			t.Errorf("%s: error %q does not start with the expression", expr, err)
		}
	}
	if _, err := Parse("cron(0 25 32 * ? *)", nil); err == nil || !strings.Contains(err.Error(), "day-of-month") {
		t.Errorf("every bad field is reported: %v", err)
	}
}

func TestLoadLocation(t *testing.T) {
	for _, ok := range []string{"", "UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"} {
		if _, err := LoadLocation(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"Europe/Pariss", "Local", "/etc/localtime", "../zoneinfo/UTC", "CEST+2"} {
		if _, err := LoadLocation(bad); err == nil || !strings.Contains(err.Error(), "IANA time zone") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// Walking a year of minutes stays cheap: the local scheduler counts the
// fires it skips.
func BenchmarkNextEveryMinute(b *testing.B) {
	loc, _ := LoadLocation("Europe/Paris")
	e, _ := Parse("cron(* * * * ? *)", loc)
	at := utc(saturday)
	for i := 0; i < b.N; i++ {
		at = e.Next(at)
	}
}
