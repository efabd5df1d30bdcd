package messages

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Step status values, one contract each so a rule can route failures alone.
const (
	TypeStepStarted   = "fusion.step.started.v1"
	TypeStepSucceeded = "fusion.step.succeeded.v1"
	TypeStepFailed    = "fusion.step.failed.v1"
)

// StepEvent reports the progress of one step of a run. The run ledger is
// built from these events alone.
type StepEvent struct {
	RunRef
	TraceContext
	Step       string     `json:"step"`   // ingest, transform, traindata, inference, load.<dataset>
	Worker     string     `json:"worker"` // the worker that ran it
	Input      string     `json:"input"`  // the object key or dataset the step consumed
	Attempt    int        `json:"attempt"`
	StartedAt  time.Time  `json:"started_at"`
	DurationMS int64      `json:"duration_ms,omitempty"`
	RowsIn     int64      `json:"rows_in,omitempty"`
	RowsOut    int64      `json:"rows_out,omitempty"`
	Bytes      int64      `json:"bytes,omitempty"`
	Error      *StepError `json:"error,omitempty"`
}

// StepError explains a failed step precisely enough to fix the input.
type StepError struct {
	Message    string `json:"message"`
	File       string `json:"file,omitempty"`
	Line       int64  `json:"line,omitempty"`
	Field      string `json:"field,omitempty"`
	Permanent  bool   `json:"permanent"`            // bad input: not retried
	Quarantine string `json:"quarantine,omitempty"` // lake key the input was moved to
}

// StepStarted, StepSucceeded and StepFailed are the three step contracts.
type (
	StepStarted   struct{ StepEvent }
	StepSucceeded struct{ StepEvent }
	StepFailed    struct{ StepEvent }
)

func init() {
	register[StepStarted](TypeStepStarted, "fusion.runtime")
	register[StepSucceeded](TypeStepSucceeded, "fusion.runtime")
	register[StepFailed](TypeStepFailed, "fusion.runtime")
}

func (s *StepEvent) identity(status string) string {
	return s.RunID + "/" + s.Step + "/" + strconv.Itoa(s.Attempt) + "/" + status
}

func (s *StepStarted) IdentityKey() string   { return s.identity("started") }
func (s *StepSucceeded) IdentityKey() string { return s.identity("succeeded") }
func (s *StepFailed) IdentityKey() string    { return s.identity("failed") }

// Validate checks the run and step names. A failed ingest of an object no
// pipeline claims has no pipeline, so only the run id is required there.
func (s *StepEvent) Validate() error {
	var errs []error
	if !ValidRunID(s.RunID) {
		errs = append(errs, fmt.Errorf("run_id %q is not a fusion run id", s.RunID))
	}
	if s.Pipeline != "" && !ValidName(s.Pipeline) {
		errs = append(errs, fmt.Errorf("pipeline %q is not a valid name", s.Pipeline))
	}
	if s.Step == "" || s.Worker == "" {
		errs = append(errs, errors.New("step and worker are required"))
	}
	return errors.Join(errs...)
}

func (s *StepFailed) Validate() error {
	if s.Error == nil {
		return errors.Join(s.StepEvent.Validate(), errors.New("a failed step needs an error"))
	}
	return s.StepEvent.Validate()
}

// Status returns started, succeeded or failed for a step contract.
func Status(detailType string) string {
	switch detailType {
	case TypeStepStarted:
		return "started"
	case TypeStepSucceeded:
		return "succeeded"
	case TypeStepFailed:
		return "failed"
	}
	return ""
}
