package inproc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// ErrOwned is returned by Subscribe on a queue file another process (or
// another broker of this one) consumes.
var ErrOwned = errors.New("inproc: queue file is consumed by another process")

// owner is the right to consume a queue file: an exclusive lock on a file
// beside it, held until Close. The operating system drops the lock when
// the process dies, so a kill -9 never leaves a home locked.
type owner struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// acquire takes the lock unless it is held already, and runs takeover
// once it has it.
func (o *owner) acquire(takeover func() error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f != nil {
		return nil
	}
	f, err := os.OpenFile(o.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return fmt.Errorf("%w (%s, pid %s): is another fusion run using this home?", ErrOwned, o.path, holder(o.path))
		}
		return fmt.Errorf("lock %s: %w", o.path, err)
	}
	// The pid is for the message above only; the lock is what counts.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	}
	if err := takeover(); err != nil {
		f.Close()
		return err
	}
	o.f = f
	return nil
}

// release gives up the lock.
func (o *owner) release() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	err := o.f.Close() // closing the descriptor drops the lock
	o.f = nil
	return err
}

func holder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
