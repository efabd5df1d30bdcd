package worker

import (
	"errors"
	"sync"
)

// inFlight tracks the events this process is handling, by worker and
// dedup key. Two deliveries of one event can be in hand at once (a
// redelivery after a restart racing the re-announcement of a landed file,
// a duplicate publish); running both wastes the work and makes them
// trip over each other's lake objects. The second waits for redelivery,
// by which time the first has finished and marked the event handled.
type inFlight struct {
	mu   sync.Mutex
	keys map[string]struct{}
}

// errInFlight has a delivery redelivered later.
var errInFlight = errors.New("the same event is being handled by this process; redelivered later")

// begin claims an event; false when it is already in hand.
func (f *inFlight) begin(worker, key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys == nil {
		f.keys = map[string]struct{}{}
	}
	k := worker + "\x00" + key
	if _, busy := f.keys[k]; busy {
		return false
	}
	f.keys[k] = struct{}{}
	return true
}

// end releases an event claimed by begin.
func (f *inFlight) end(worker, key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.keys, worker+"\x00"+key)
}
