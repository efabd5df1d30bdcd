package messages

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
)

// IngestRequested asks ingest to start a run of a pipeline whose source is
// a database table (source.postgres): the pull of the table, or of its new
// rows since the last successful pull. It is the single entry point of such
// runs: `fusion ingest --pipeline NAME` publishes it, and a schedule
// (EventBridge Scheduler) sends the same event.
//
// The run id derives from the event (see RunID), so a redelivered request
// is the same run. RequestID, when the sender sets one (the CLI does; a
// schedule can template <aws.scheduler.execution-id>), names the request;
// otherwise the envelope's id does.
type IngestRequested struct {
	TraceContext
	Pipeline    string `json:"pipeline"`
	RequestID   string `json:"request_id,omitempty"`
	Reason      string `json:"reason,omitempty"`
	RequestedBy string `json:"requested_by,omitempty"`
}

const (
	TypeIngestRequested = "fusion.ingest.requested.v1"
	// SourceControl is the source of requests from people and schedules.
	SourceControl = "fusion.control"
)

func init() { register[IngestRequested](TypeIngestRequested, SourceControl) }

// IdentityKey is the request: the pipeline and the request id.
func (d *IngestRequested) IdentityKey() string { return d.Pipeline + "/" + d.RequestID }

// Validate checks the pipeline name and that the request id is short,
// printable text.
func (d *IngestRequested) Validate() error {
	var errs []error
	if !ValidName(d.Pipeline) {
		errs = append(errs, fmt.Errorf("pipeline %q is not a valid name", d.Pipeline))
	}
	errs = append(errs, checkRequestID(d.RequestID)...)
	return errors.Join(errs...)
}

// StartRun is the run this request starts: timed by the event, keyed by
// the request id (or the event id without one). A redelivery carries the
// same envelope and so resumes the same run.
func (d *IngestRequested) StartRun(env Envelope) RunRef {
	key := d.RequestID
	if key == "" {
		key = env.ID
	}
	h := sha1.Sum([]byte(d.Pipeline + "\x00" + key))
	at := env.Time
	if due, ok := ScheduledTime(d.RequestID); ok {
		at = due // a schedule's fire is timed by when it was due, on every tier (scheduled.go)
	}
	return RunRef{RunID: at.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(h[:3]), Pipeline: d.Pipeline}
}
