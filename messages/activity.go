package messages

import (
	"errors"
	"fmt"
)

// ActivityCompleted says that one activity of a run — a step a pipeline
// file declares under activities: a copy, a SQL statement or a shell
// command — finished. The activities after it start on this event; its
// identity is the run and the activity, so a rerun of the same activity
// for the same run announces the same event.
type ActivityCompleted struct {
	RunRef
	TraceContext
	Activity string `json:"activity"` // the activity's name (its step is activity.<name>)
	Kind     string `json:"kind"`     // copy, sql or shell
	// Target says where the activity wrote: a lake prefix or key
	// (lake:exports/churn/), a table (postgres://reporting/churn_scores),
	// the warehouse (warehouse) or nothing for a shell command.
	Target string `json:"target,omitempty"`
	// Objects are the lake keys a copy into the lake wrote.
	Objects []string `json:"objects,omitempty"`
	// Rows a copy or a statement wrote (or, for a copy whose load was
	// applied before, wrote the first time).
	Rows int64 `json:"rows,omitempty"`
	// Output is the tail of a shell command's standard output.
	Output string `json:"output,omitempty"`
	// Skipped is set when the activity did nothing by design: an optional
	// copy to a database whose connection is not configured.
	Skipped bool `json:"skipped,omitempty"`
}

const TypeActivityCompleted = "fusion.activity.completed.v1"

func init() { register[ActivityCompleted](TypeActivityCompleted, "fusion.activity") }

// IdentityKey is the run and the activity.
func (d *ActivityCompleted) IdentityKey() string { return d.RunID + "/" + d.Activity }

// Activity kinds.
const (
	ActivityCopy  = "copy"
	ActivitySQL   = "sql"
	ActivityShell = "shell"
)

// Validate checks the run, the activity's name and kind, and the keys.
func (d *ActivityCompleted) Validate() error {
	errs := []error{d.RunRef.Validate()}
	if !ValidName(d.Activity) {
		errs = append(errs, fmt.Errorf("activity %q is not a valid name", d.Activity))
	}
	switch d.Kind {
	case ActivityCopy, ActivitySQL, ActivityShell:
	default:
		errs = append(errs, fmt.Errorf("kind must be copy, sql or shell (got %q)", d.Kind))
	}
	for _, k := range d.Objects {
		errs = append(errs, ValidKey(k))
	}
	if d.Rows < 0 {
		errs = append(errs, errors.New("rows cannot be negative"))
	}
	return errors.Join(errs...)
}
