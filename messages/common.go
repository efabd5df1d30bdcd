package messages

import (
	"errors"
	"fmt"
)

// RunRef names the run and pipeline an event belongs to. Every fusion
// contract embeds it; the run id ties the events of one run together.
type RunRef struct {
	RunID    string `json:"run_id"`
	Pipeline string `json:"pipeline"`
}

// Validate checks that the run id and pipeline are usable as key segments.
func (r RunRef) Validate() error {
	var errs []error
	if !ValidRunID(r.RunID) {
		errs = append(errs, fmt.Errorf("run_id %q is not a fusion run id", r.RunID))
	}
	if !ValidName(r.Pipeline) {
		errs = append(errs, fmt.Errorf("pipeline %q is not a valid name", r.Pipeline))
	}
	return errors.Join(errs...)
}

// TraceContext carries the W3C trace context inside the detail, because
// EventBridge drops message headers on its hop.
type TraceContext struct {
	Traceparent string `json:"traceparent,omitempty"`
	Tracestate  string `json:"tracestate,omitempty"`
}

// Trace returns the carried trace context; a contract embedding
// TraceContext satisfies Traced.
func (t *TraceContext) Trace() *TraceContext { return t }

// Traced is any detail that carries trace context.
type Traced interface{ Trace() *TraceContext }

// RunStarter is a request that starts a run rather than continuing one
// (an ingest request): the run derives from the event itself, so a
// redelivery resumes the same run.
type RunStarter interface {
	Detail
	StartRun(env Envelope) RunRef
}

// Column is one column of a dataset's schema. Type is a SQL type name as
// DuckDB spells it (BIGINT, DOUBLE, VARCHAR, DATE, TIMESTAMP, BOOLEAN...).
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// DatasetRef points at one version of a dataset in the lake.
type DatasetRef struct {
	Name    string   `json:"name"`    // catalog name, <pipeline>.<dataset>
	Zone    string   `json:"zone"`    // lake zone: raw, curated, training, predictions
	Format  string   `json:"format"`  // parquet
	Objects []string `json:"objects"` // lake keys of its parts
	Schema  []Column `json:"schema"`
	Rows    int64    `json:"rows"`
	Bytes   int64    `json:"bytes"`
}

// Validate checks that the reference points somewhere.
func (d DatasetRef) Validate() error {
	if d.Name == "" || len(d.Objects) == 0 {
		return fmt.Errorf("dataset needs a name and at least one object")
	}
	for _, k := range d.Objects {
		if err := ValidKey(k); err != nil {
			return err
		}
	}
	return nil
}

// ObjectRef points at one object in the lake (or a bucket).
type ObjectRef struct {
	Bucket string `json:"bucket,omitempty"`
	Key    string `json:"key"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag,omitempty"`
}

// Ref returns the run reference; every contract embedding RunRef has it.
func (r RunRef) Ref() RunRef { return r }
