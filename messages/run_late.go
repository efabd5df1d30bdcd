package messages

import (
	"errors"
	"time"
)

// RunLate announces a run still open past its pipeline's deadline (the
// pipeline file's `deadline`, counted from the run's first step): AWS Data
// Pipeline's lateAfterTimeout. The run ledger publishes it once per run, to
// the failures topic, while the run goes on; its identity is the run, so
// its event id is the same however often it is published.
type RunLate struct {
	RunRef
	Input      string    `json:"input,omitempty"`    // what started the run: the landed object key
	TraceID    string    `json:"trace_id,omitempty"` // the run's trace, to look it up
	StartedAt  time.Time `json:"started_at"`         // the run's first step started
	DeadlineMS int64     `json:"deadline_ms"`        // the pipeline's deadline
	DueAt      time.Time `json:"due_at"`             // started_at + deadline
	DetectedAt time.Time `json:"detected_at"`        // when the ledger found it late
	// Done and Pending name the run's steps that succeeded and those that
	// have not (yet), in pipeline order.
	Done    []string `json:"done"`
	Pending []string `json:"pending"`
}

const (
	TypeRunLate = "fusion.run.late.v1"
	// SourceLedger is the source of the events the run ledger publishes.
	SourceLedger = "fusion.ledger"
)

func init() { register[RunLate](TypeRunLate, SourceLedger) }

// IdentityKey is the run: one late notice per run.
func (d *RunLate) IdentityKey() string { return d.RunID }

// Validate checks the run reference and the deadline.
func (d *RunLate) Validate() error {
	var errs []error
	if err := d.RunRef.Validate(); err != nil {
		errs = append(errs, err)
	}
	if d.DeadlineMS <= 0 {
		errs = append(errs, errors.New("deadline_ms must be positive"))
	}
	return errors.Join(errs...)
}
