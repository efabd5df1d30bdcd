//go:build !unix

package inproc

import (
	"errors"
	"os"
)

var errLocked = errors.New("locked")

// lockFile does not lock where flock is missing: there, keep to one
// consuming process per home by hand.
func lockFile(*os.File) error { return nil }
