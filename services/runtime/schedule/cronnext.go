package schedule

import "time"

// next returns the first fire of c strictly after after, evaluated on the
// wall clock of loc; the zero time when there is none before 2200.
//
// It walks the calendar day by day (skipping whole years and months that
// cannot match) and, on a matching day, the matching hours and minutes in
// wall-clock order. Each wall-clock time becomes the first instant that
// shows it: a time inside a spring-forward gap shows on no instant and is
// skipped; a time an autumn change repeats is taken once, the first time.
func (c *cron) next(after time.Time, loc *time.Location) time.Time {
	local := after.In(loc)
	y, m, d := local.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // a calendar cursor, not an instant
	// On after's own day, wall-clock times well before after's cannot be
	// after it; how far back to look is the offset change around it.
	floor := local.Hour()*60 + local.Minute() - offsetSwing(after, loc)
	for first := true; day.Year() <= yearField.max; first = false {
		Y, M, D := day.Date()
		if !c.years.has(Y) {
			day = time.Date(Y+1, 1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if !c.months.has(int(M)) {
			day = time.Date(Y, M+1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if c.dayMatches(Y, M, D) {
			for h := 0; h < 24; h++ {
				if !c.hours.has(h) {
					continue
				}
				for mi := 0; mi < 60; mi++ {
					if !c.minutes.has(mi) || (first && h*60+mi < floor) {
						continue
					}
					if u, ok := firstInstant(Y, M, D, h, mi, loc); ok && u.After(after) {
						return u
					}
				}
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}
}

// dayMatches reports whether the calendar day matches the day-of-month or
// the day-of-week field (whichever is not "?").
func (c *cron) dayMatches(y int, m time.Month, d int) bool {
	if !c.byWeekday {
		switch {
		case c.dom.last:
			return d == daysIn(y, m)
		case c.dom.lastWeekday:
			return d == lastWeekday(y, m)
		case c.dom.nearest > 0:
			return d == nearestWeekday(y, m, c.dom.nearest)
		}
		return c.dom.days.has(d)
	}
	wd := int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()) + 1 // 1 = Sunday
	switch {
	case c.dow.lastOf > 0:
		return wd == c.dow.lastOf && d+7 > daysIn(y, m)
	case c.dow.nth > 0:
		return wd == c.dow.nth && (d-1)/7+1 == c.dow.nthK
	}
	return c.dow.days.has(wd)
}

// firstInstant is the earliest instant whose wall clock in loc is the
// given minute; false when none is (a spring-forward gap).
func firstInstant(y int, m time.Month, d, h, mi int, loc *time.Location) (time.Time, bool) {
	wall := time.Date(y, m, d, h, mi, 0, 0, time.UTC)
	var best time.Time
	found := false
	// The offsets in force a day either side cover any change at this time.
	for _, probe := range []time.Duration{-26 * time.Hour, 0, 26 * time.Hour} {
		_, off := wall.Add(probe).In(loc).Zone()
		u := wall.Add(-time.Duration(off) * time.Second)
		lw := u.In(loc)
		if lw.Year() == y && lw.Month() == m && lw.Day() == d && lw.Hour() == h && lw.Minute() == mi && (!found || u.Before(best)) {
			best, found = u, true
		}
	}
	return best, found
}

// offsetSwing is how many minutes the zone's offset changes within a day
// either side of t (0 for most days), plus one.
func offsetSwing(t time.Time, loc *time.Location) int {
	_, a := t.Add(-26 * time.Hour).In(loc).Zone()
	_, b := t.Add(26 * time.Hour).In(loc).Zone()
	diff := a - b
	if diff < 0 {
		diff = -diff
	}
	return diff/60 + 1
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func weekday(y int, m time.Month, d int) time.Weekday {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()
}

// lastWeekday is the month's last Monday-to-Friday day.
func lastWeekday(y int, m time.Month) int {
	d := daysIn(y, m)
	switch weekday(y, m, d) {
	case time.Saturday:
		return d - 1
	case time.Sunday:
		return d - 2
	}
	return d
}

// nearestWeekday is the Monday-to-Friday day nearest day n, never leaving
// the month (1W on a Saturday is Monday the 3rd); 0 when the month has no
// day n.
func nearestWeekday(y int, m time.Month, n int) int {
	last := daysIn(y, m)
	if n > last {
		return 0
	}
	switch weekday(y, m, n) {
	case time.Saturday:
		if n == 1 {
			return 3
		}
		return n - 1
	case time.Sunday:
		if n == last {
			return n - 2
		}
		return n + 1
	}
	return n
}
