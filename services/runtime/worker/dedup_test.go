package worker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// memDedup is a worker.Dedup in memory that counts the checks it answered.
type memDedup struct {
	mu      sync.Mutex
	marks   map[string]string // worker/key -> run id
	checked atomic.Int32
}

func (d *memDedup) Handled(_ context.Context, w, key string) (bool, error) {
	defer d.checked.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.marks[w+"/"+key]
	return ok, nil
}

func (d *memDedup) MarkHandled(_ context.Context, w, key, runID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.marks[w+"/"+key]; !ok {
		d.marks[w+"/"+key] = runID
	}
	return nil
}

// TestDedupKeyIsTheDetailNotTheEnvelopeID: EventBridge gives every
// PutEvents its own envelope id, so one fact published three times arrives
// with three ids. The step runs once: the event is known by its detail.
func TestDedupKeyIsTheDetailNotTheEnvelopeID(t *testing.T) {
	dedup := &memDedup{marks: map[string]string{}}
	h := newHarnessWith(t, 0, def, dedup)
	var calls atomic.Int32
	h.run(t, &worker.Worker{Name: "transform", Handlers: map[string]worker.Handler{
		messages.TypeDatasetIngested: func(context.Context, *worker.Input) (worker.Output, error) {
			calls.Add(1)
			return worker.Output{Events: []messages.Detail{transformed()}}, nil
		},
	}})
	first := ingested(t)
	if err := h.bus.Publish(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	h.next(t, "loader") // handled and published: marked
	for i := 1; i <= 2; i++ {
		again := first
		again.ID = uuid.NewString() // as EventBridge assigns
		again.Time = first.Time.Add(time.Duration(i) * time.Second)
		if err := h.bus.Publish(context.Background(), again); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for dedup.checked.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := dedup.checked.Load(); n != 3 {
		t.Fatalf("%d deliveries checked, want 3", n)
	}
	if calls.Load() != 1 {
		t.Errorf("the step ran %d times, want 1", calls.Load())
	}
	d, err := messages.Decode(first)
	if err != nil {
		t.Fatal(err)
	}
	key := "transform/" + messages.EventID(first.DetailType, d.IdentityKey())
	dedup.mu.Lock()
	defer dedup.mu.Unlock()
	if len(dedup.marks) != 1 || dedup.marks[key] != runID {
		t.Errorf("marks %v, want %s -> %s", dedup.marks, key, runID)
	}
}

// Two deliveries of one event in hand at once in one process: the second
// waits for redelivery instead of running the step beside the first, and
// then finds it handled.
func TestSecondDeliveryWaitsForTheFirst(t *testing.T) {
	dedup := &memDedup{marks: map[string]string{}}
	h := newHarnessConfig(t, worker.Config{Concurrency: 2}, def, dedup)
	var calls atomic.Int32
	release := make(chan struct{})
	h.run(t, &worker.Worker{Name: "transform", Handlers: map[string]worker.Handler{
		messages.TypeDatasetIngested: func(context.Context, *worker.Input) (worker.Output, error) {
			calls.Add(1)
			<-release
			return worker.Output{Events: []messages.Detail{transformed()}}, nil
		},
	}})
	ev := ingested(t)
	if err := h.bus.Publish(context.Background(), ev, ev); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // both deliveries taken by the two consumers
	if n := calls.Load(); n != 1 {
		t.Fatalf("the step is running %d times at once", n)
	}
	close(release)
	h.next(t, "loader")
	deadline := time.Now().Add(5 * time.Second)
	for dedup.checked.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := calls.Load(); n != 1 || dedup.checked.Load() < 2 {
		t.Errorf("the step ran %d times, %d deliveries checked", n, dedup.checked.Load())
	}
}
