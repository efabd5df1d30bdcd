package transport

import (
	"context"
	"strconv"
	"time"
)

// DeadLetter is a message a worker gave up on, with why (metadata
// dead_letter_reason, run_id, step, attempts, traceparent, event_id).
type DeadLetter struct {
	Handle   string // the dead-letter queue's own handle for it
	Queue    string // the worker queue it came from, and returns to
	ID       string // the message id
	Payload  []byte
	Metadata map[string]string
	At       time.Time // when it was dead-lettered, zero when unknown
}

// RunID is the run the dead letter belongs to, "" when unknown.
func (d DeadLetter) RunID() string { return d.Metadata[MetaRunID] }

// Reason says why the worker gave up.
func (d DeadLetter) Reason() string { return d.Metadata["dead_letter_reason"] }

// Attempts is how often the step ran, 0 when unknown.
func (d DeadLetter) Attempts() int { n, _ := strconv.Atoi(d.Metadata["attempts"]); return n }

// DeadLetterQueues are every worker's dead-letter queue.
//
// Rules: List does not consume (a listed letter stays until redriven);
// Redrive puts each letter back on the queue it came from, with its
// payload and event metadata but without the dead-letter reasons, before
// removing it from the dead-letter queue — so a crash in between redrives
// it twice (consumers are idempotent), never zero times.
type DeadLetterQueues interface {
	List(ctx context.Context) ([]DeadLetter, error)
	Redrive(ctx context.Context, letters []DeadLetter) error
}

// Redriven is the message a dead letter becomes when it is redriven: its
// id, payload and event metadata, with the trace context of the attempt
// that gave up (traceparent, tracestate), which the redriven step's span
// links.
func (d DeadLetter) Redriven() (id string, payload []byte, metadata map[string]string) {
	md := map[string]string{}
	for _, k := range []string{MetaEventID, MetaDetailType, MetaRunID, MetaTraceparent, MetaTracestate} {
		if v := d.Metadata[k]; v != "" {
			md[k] = v
		}
	}
	return d.ID, d.Payload, md
}
