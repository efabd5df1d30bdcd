package messages

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"time"

	"github.com/google/uuid"
)

// namespace scopes fusion's name-based UUIDs.
var namespace = uuid.MustParse("6f1c3b0e-5d0a-4f7e-9b7a-2a4c8e1d9f30")

// EventID derives an event id from what the event is about, so the same
// fact published twice carries the same id.
func EventID(detailType, identity string) string {
	return uuid.NewSHA1(namespace, []byte(detailType+"\x00"+identity)).String()
}

// RunIDForObject derives the id of the run an arriving object starts. The
// same object event (bucket, key and sequencer) always maps to the same run,
// so a redelivered notification resumes that run instead of starting
// another; a new upload of the same key has a new sequencer and a new run.
// The id sorts by arrival time: 20261121-151600-3fa9c2.
func RunIDForObject(bucket, key, sequencer string, at time.Time) string {
	h := sha1.Sum([]byte(bucket + "\x00" + key + "\x00" + sequencer))
	return at.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(h[:3])
}

// ValidRunID reports whether s has the shape RunIDForObject produces; run
// ids become lake key segments, so nothing else may pass.
func ValidRunID(s string) bool {
	if len(s) != 22 || s[8] != '-' || s[15] != '-' {
		return false
	}
	return strings.Trim(s[:8]+s[9:15], "0123456789") == "" && strings.Trim(s[16:], "0123456789abcdef") == ""
}
