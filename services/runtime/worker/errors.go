package worker

import (
	"errors"
	"fmt"

	"github.com/fusiondata/fusion/messages"
)

// InputError is bad input: it is not retried, the step fails at once, the
// input object moves to quarantine, and the message says where the problem
// is — the file, the line, the field.
type InputError struct {
	// Object is the lake key of the input to quarantine; "" for none.
	Object string
	// File is the input as the user knows it (usually the landed key).
	File  string
	Line  int64 // 1-based; 0 when the problem is not on one line
	Field string
	Err   error
}

func (e *InputError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, e.Line)
	}
	switch {
	case loc != "" && e.Field != "":
		return fmt.Sprintf("%s: %s: %v", loc, e.Field, e.Err)
	case loc != "":
		return fmt.Sprintf("%s: %v", loc, e.Err)
	case e.Field != "":
		return fmt.Sprintf("%s: %v", e.Field, e.Err)
	}
	return e.Err.Error()
}

func (e *InputError) Unwrap() error { return e.Err }

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks an error that retrying cannot fix (a bad pipeline
// definition, an unknown model): the step fails at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err must not be retried.
func IsPermanent(err error) bool {
	var p permanentError
	var in *InputError
	return errors.As(err, &p) || errors.As(err, &in) ||
		errors.Is(err, messages.ErrMalformed) || errors.Is(err, messages.ErrUnknownType) || errors.Is(err, messages.ErrTooLarge)
}

// stepError describes an error for the ledger.
func stepError(err error, quarantined string) *messages.StepError {
	se := &messages.StepError{Message: err.Error(), Permanent: IsPermanent(err), Quarantine: quarantined}
	var in *InputError
	if errors.As(err, &in) {
		se.File, se.Line, se.Field = in.File, in.Line, in.Field
	}
	return se
}
