package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// cron is a parsed cron(minutes hours day-of-month month day-of-week year)
// expression. Exactly one of day-of-month and day-of-week is "?".
type cron struct {
	minutes, hours, months, years set
	dom                           domSpec // when day-of-week is "?"
	dow                           dowSpec // when day-of-month is "?"
	byWeekday                     bool    // day-of-month is "?": days are chosen by day-of-week
}

// domSpec is a day-of-month field: a set of days, L (the last day), LW
// (the last weekday) or nW (the weekday nearest day n, within the month).
type domSpec struct {
	days        set
	last        bool
	lastWeekday bool
	nearest     int
}

// dowSpec is a day-of-week field (1 = Sunday … 7 = Saturday): a set of
// days, nL (the month's last day n) or n#k (the month's k-th day n).
type dowSpec struct {
	days   set
	lastOf int
	nth    int
	nthK   int
}

// set holds the values of one field, min..max.
type set struct {
	min int
	on  []bool
}

func newSet(min, max int) set { return set{min: min, on: make([]bool, max-min+1)} }

func (s set) has(v int) bool { return v >= s.min && v-s.min < len(s.on) && s.on[v-s.min] }

// fieldSpec describes one of the six fields.
type fieldSpec struct {
	name     string
	min, max int
	names    []string // names of min, min+1, … (months, days of the week)
	step     bool     // "/" is allowed
}

var (
	monthNames = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	dayNames   = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}

	minutesField = fieldSpec{name: "minutes", min: 0, max: 59, step: true}
	hoursField   = fieldSpec{name: "hours", min: 0, max: 23, step: true}
	domField     = fieldSpec{name: "day-of-month", min: 1, max: 31, step: true}
	monthField   = fieldSpec{name: "month", min: 1, max: 12, names: monthNames, step: true}
	dowField     = fieldSpec{name: "day-of-week", min: 1, max: 7, names: dayNames}
	yearField    = fieldSpec{name: "year", min: 1970, max: 2199, step: true}
)

// parseCron reads the six fields inside cron(...).
func parseCron(body string) (*cron, error) {
	f := strings.Fields(body)
	if len(f) != 6 {
		return nil, fmt.Errorf("a cron expression has six fields (minutes hours day-of-month month day-of-week year), this one has %d", len(f))
	}
	c := &cron{}
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	c.minutes, err = parseList(minutesField, f[0])
	add(err)
	c.hours, err = parseList(hoursField, f[1])
	add(err)
	c.months, err = parseList(monthField, f[3])
	add(err)
	c.years, err = parseList(yearField, f[5])
	add(err)
	switch domAny, dowAny := f[2] == "?", f[4] == "?"; {
	case domAny && dowAny:
		add(errors.New(`day-of-month, day-of-week: one of them must be "?", not both`))
	case !domAny && !dowAny:
		add(fmt.Errorf(`day-of-month, day-of-week: one of them must be "?" (got %q and %q)`, f[2], f[4]))
	case domAny:
		c.byWeekday = true
		c.dow, err = parseDow(f[4])
		add(err)
	default:
		c.dom, err = parseDom(f[2])
		add(err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func parseDom(s string) (domSpec, error) {
	switch {
	case s == "L":
		return domSpec{last: true}, nil
	case s == "LW":
		return domSpec{lastWeekday: true}, nil
	case strings.HasSuffix(s, "W"):
		n, err := value(domField, strings.TrimSuffix(s, "W"))
		if err != nil {
			return domSpec{}, fmt.Errorf(`day-of-month: %q: W follows one day, as in 15W (the weekday nearest the 15th): %w`, s, err)
		}
		return domSpec{nearest: n}, nil
	case strings.ContainsAny(s, "LW#?"):
		return domSpec{}, fmt.Errorf(`day-of-month: %q: L, LW and nW stand alone; # belongs to day-of-week`, s)
	}
	days, err := parseList(domField, s)
	return domSpec{days: days}, err
}

func parseDow(s string) (dowSpec, error) {
	switch {
	case s == "L":
		d := newSet(1, 7)
		d.on[6] = true // the last day of the week: Saturday
		return dowSpec{days: d}, nil
	case strings.HasSuffix(s, "L"):
		n, err := value(dowField, strings.TrimSuffix(s, "L"))
		if err != nil {
			return dowSpec{}, fmt.Errorf(`day-of-week: %q: nL is the month's last day n, as in 6L (the last Friday): %w`, s, err)
		}
		return dowSpec{lastOf: n}, nil
	case strings.Contains(s, "#"):
		day, nth, _ := strings.Cut(s, "#")
		n, err := value(dowField, day)
		if err != nil {
			return dowSpec{}, fmt.Errorf(`day-of-week: %q: n#k is the month's k-th day n, as in 3#2 (the second Tuesday): %w`, s, err)
		}
		k, err := strconv.Atoi(nth)
		if err != nil || k < 1 || k > 5 {
			return dowSpec{}, fmt.Errorf(`day-of-week: %q: the k of n#k must be 1-5`, s)
		}
		return dowSpec{nth: n, nthK: k}, nil
	case strings.ContainsAny(s, "LW?"):
		return dowSpec{}, fmt.Errorf(`day-of-week: %q: L and nL stand alone; W belongs to day-of-month`, s)
	}
	days, err := parseList(dowField, s)
	return dowSpec{days: days}, err
}

// parseList reads a comma-separated list of *, values, ranges and steps.
func parseList(fs fieldSpec, s string) (set, error) {
	out := newSet(fs.min, fs.max)
	for _, item := range strings.Split(s, ",") {
		if err := parseItem(fs, item, out); err != nil {
			return set{}, fmt.Errorf("%s: %q: %w", fs.name, s, err)
		}
	}
	return out, nil
}

// parseItem sets the values of one list item: *, v, a-b, with an optional
// /step (v/step runs from v to the field's maximum).
func parseItem(fs fieldSpec, item string, out set) error {
	if item == "" {
		return errors.New("an empty list item")
	}
	rng, stepText, stepped := strings.Cut(item, "/")
	step := 1
	if stepped {
		if !fs.step {
			return fmt.Errorf("/ is not allowed in %s", fs.name)
		}
		n, err := strconv.Atoi(stepText)
		if err != nil || n < 1 {
			return fmt.Errorf("the step after / must be a positive whole number (got %q)", stepText)
		}
		step = n
	}
	lo, hi := fs.min, fs.max
	switch {
	case rng == "*":
	case strings.Contains(rng, "-"):
		a, b, _ := strings.Cut(rng, "-")
		var err error
		if lo, err = value(fs, a); err != nil {
			return err
		}
		if hi, err = value(fs, b); err != nil {
			return err
		}
		if lo > hi {
			return fmt.Errorf("the range %s runs backwards", rng)
		}
	default:
		v, err := value(fs, rng)
		if err != nil {
			return err
		}
		lo = v
		if !stepped {
			hi = v
		}
	}
	for v := lo; v <= hi; v += step {
		out.on[v-fs.min] = true
	}
	return nil
}

// value reads one value of a field: a number in range or, for months and
// days of the week, a three-letter name (JAN, SUN).
func value(fs fieldSpec, s string) (int, error) {
	for i, n := range fs.names {
		if strings.EqualFold(s, n) {
			return fs.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		if len(fs.names) > 0 {
			return 0, fmt.Errorf("%q is neither %d-%d nor one of %s", s, fs.min, fs.max, strings.Join(fs.names, " "))
		}
		if s == "?" || s == "L" || s == "W" || s == "#" {
			return 0, fmt.Errorf("%s does not take %q", fs.name, s)
		}
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if v < fs.min || v > fs.max {
		if len(fs.names) > 0 {
			return 0, fmt.Errorf("%d is outside %d-%d (or %s-%s)", v, fs.min, fs.max, fs.names[0], fs.names[len(fs.names)-1])
		}
		return 0, fmt.Errorf("%d is outside %d-%d", v, fs.min, fs.max)
	}
	return v, nil
}
