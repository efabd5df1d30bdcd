package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// rateUnits are EventBridge Scheduler's rate units, singular for a value
// of 1 and plural otherwise.
var rateUnits = map[string]time.Duration{
	"minute": time.Minute, "minutes": time.Minute,
	"hour": time.Hour, "hours": time.Hour,
	"day": 24 * time.Hour, "days": 24 * time.Hour,
}

// maxRate keeps a rate well inside time.Duration (about 292 years).
const maxRate = 100 * 365 * 24 * time.Hour

// parseRate reads the inside of rate(value unit).
func parseRate(body string) (time.Duration, error) {
	parts := strings.Fields(body)
	if len(parts) != 2 {
		return 0, errors.New("a rate is rate(value unit), e.g. rate(5 minutes) or rate(1 day)")
	}
	n, err := strconv.ParseUint(parts[0], 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("value: %q is not a positive whole number", parts[0])
	}
	unit, ok := rateUnits[parts[1]]
	if !ok {
		return 0, fmt.Errorf("unit: %q must be minute(s), hour(s) or day(s)", parts[1])
	}
	plural := strings.HasSuffix(parts[1], "s")
	switch {
	case n == 1 && plural:
		return 0, fmt.Errorf("unit: a value of 1 takes the singular %q", strings.TrimSuffix(parts[1], "s"))
	case n > 1 && !plural:
		return 0, fmt.Errorf("unit: a value of %d takes the plural %q", n, parts[1]+"s")
	}
	if time.Duration(n) > maxRate/unit {
		return 0, fmt.Errorf("value: %d %s is longer than 100 years", n, parts[1])
	}
	return time.Duration(n) * unit, nil
}
