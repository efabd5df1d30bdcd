package messages

import (
	"strings"
	"time"
)

// ScheduledPrefix starts the request id of a scheduled fire:
// "schedule:2026-11-21T02:00:00Z", the time the fire was due (RFC 3339,
// UTC). The local scheduler writes it; EventBridge Scheduler templates it
// from <aws.scheduler.scheduled-time>.
const ScheduledPrefix = "schedule:"

// ScheduledTime returns the due time a scheduled fire's request id names.
// A scheduled run is timed by it rather than by its event, so every
// delivery of a fire — a retry by EventBridge Scheduler, a refire after a
// crash — is the same run.
func ScheduledTime(requestID string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(requestID, ScheduledPrefix)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, rest)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}
