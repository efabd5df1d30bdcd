package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// blockedWarehouse never finishes a load: the loader is stuck, so its
// runs stay open. Loads return once released or cancelled.
type blockedWarehouse struct {
	warehouse.Warehouse
	released <-chan struct{}
}

func (w blockedWarehouse) Load(ctx context.Context, _ warehouse.LoadRequest) (warehouse.Result, error) {
	select {
	case <-ctx.Done():
		return warehouse.Result{}, ctx.Err()
	case <-w.released:
		return warehouse.Result{}, errors.New("the blocked warehouse was released")
	}
}

// slowWarehouse takes its time over every load.
type slowWarehouse struct {
	warehouse.Warehouse
	wait time.Duration
}

func (w slowWarehouse) Load(ctx context.Context, req warehouse.LoadRequest) (warehouse.Result, error) {
	select {
	case <-ctx.Done():
		return warehouse.Result{}, ctx.Err()
	case <-time.After(w.wait):
	}
	return w.Warehouse.Load(ctx, req)
}

// failuresTap records what a platform's failures consumer receives from
// the failures queue: the events as delivered, redeliveries included.
type failuresTap struct {
	message.Subscriber
	mu     sync.Mutex
	events []messages.Envelope
}

func (s *failuresTap) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	in, err := s.Subscriber.Subscribe(ctx, topic)
	if err != nil || topic != routing.FailuresQueue {
		return in, err
	}
	out := make(chan *message.Message)
	go func() {
		defer close(out)
		for msg := range in {
			if env, err := messages.Parse(msg.Payload); err == nil {
				s.mu.Lock()
				s.events = append(s.events, env)
				s.mu.Unlock()
			}
			select {
			case out <- msg:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// late returns the late notices of a run that reached the failures queue.
func (s *failuresTap) late(t *testing.T, runID string) []messages.Envelope {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []messages.Envelope
	for _, env := range s.events {
		if env.DetailType != messages.TypeRunLate {
			continue
		}
		d, err := messages.Decode(env)
		if err != nil {
			t.Fatal(err)
		}
		if d.(*messages.RunLate).RunID == runID {
			out = append(out, env)
		}
	}
	return out
}

// ledgerProcess says what runLedger runs.
type ledgerProcess struct {
	workers []string      // nil: the ledger alone, as `fusion run --workers none`
	blocked bool          // the warehouse never finishes a load
	slow    time.Duration // the warehouse takes this long over each load
}

// runLedger opens a platform on cfg, taps its failures queue, and runs
// the ledger and the workers asked for until stop.
func runLedger(t *testing.T, cfg config.Config, logs *lockedBuffer, proc ledgerProcess) (p *platform.Platform, tap *failuresTap, stop func()) {
	t.Helper()
	p, err := platform.Open(cfg, (&app{cfg: cfg}).logger(logs))
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	switch {
	case proc.blocked:
		p.Deps.Warehouse = blockedWarehouse{Warehouse: p.Deps.Warehouse, released: released}
	case proc.slow > 0:
		p.Deps.Warehouse = slowWarehouse{Warehouse: p.Deps.Warehouse, wait: proc.slow}
	}
	tap = &failuresTap{Subscriber: p.Transport.Subscriber}
	p.Transport.Subscriber = tap
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, platform.RunOptions{Workers: proc.workers, Ledger: true}) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			close(released)
			cancel()
			<-done
			p.Close()
		})
	}
	t.Cleanup(stop)
	return p, tap, stop
}

// until polls cond every 20ms for up to a minute.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLateRunIsAnnouncedOnce runs a pipeline with a deadline of 300ms
// whose load cannot finish. The run is flagged late in the ledger
// (`fusion runs` shows "running (late)") and one fusion.run.late.v1 for it
// reaches the failures queue — one, however many checks follow, and after
// the ledger process restarts.
func TestLateRunIsAnnouncedOnce(t *testing.T) {
	home := t.TempDir()
	dir := filepath.Join(home, "pipelines")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "small.yaml"), []byte(smallPipeline+"deadline: 300ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const check = 50 * time.Millisecond
	cfg := config.Config{Home: home, LandingPoll: 20 * time.Millisecond, Retries: 1, Concurrency: 2, DeadlineCheck: check}
	var logs lockedBuffer
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	p, tap, stop := runLedger(t, cfg, &logs, ledgerProcess{workers: pipeline.Workers, blocked: true})
	ctx := context.Background()
	key := "landing/small/stuck.csv"
	if _, err := p.Lake.Put(ctx, key, strings.NewReader("id,amount\n1,2.5\n2,3\n")); err != nil {
		t.Fatal(err)
	}

	var run ledger.Run
	until(t, "the run flagged late", func() bool {
		r, err := p.Ledger.RunForInput(ctx, key)
		run = r
		return err == nil && r.Late()
	})
	if run.Status != ledger.Running || run.Deadline != 300*time.Millisecond || run.LateAt.Before(run.StartedAt.Add(run.Deadline)) {
		t.Fatalf("late run %+v", run)
	}
	until(t, "the late notice on the failures queue", func() bool { return len(tap.late(t, run.ID)) > 0 })
	time.Sleep(20 * check) // twenty more checks
	notices := tap.late(t, run.ID)
	if len(notices) != 1 {
		t.Fatalf("%d late notices for run %s on the failures queue, want 1", len(notices), run.ID)
	}
	d, _ := messages.Decode(notices[0])
	late := d.(*messages.RunLate)
	if notices[0].ID != messages.EventID(messages.TypeRunLate, run.ID) || late.Pipeline != "small" || late.Input != key || late.DeadlineMS != 300 ||
		strings.Join(late.Done, ",") != "ingest,transform" || strings.Join(late.Pending, ",") != "load.curated" {
		t.Errorf("notice %s %+v", notices[0].ID, late)
	}
	if !strings.Contains(logs.String(), `"msg":"run late"`) {
		t.Error("the failures consumer did not report the late run")
	}

	// fusion runs shows the flag, and the run its deadline.
	code, list, _ := fusion(t, "runs", "--home", home)
	if code != 0 || !strings.Contains(list, run.ID) || !strings.Contains(list, "running (late)") || !strings.Contains(list, "STATUS") {
		t.Errorf("runs:\n%s", list)
	}
	code, detail, _ := fusion(t, "runs", "--home", home, run.ID)
	if code != 0 || !strings.Contains(detail, "running (late)") || !strings.Contains(detail, "deadline 300ms  late: still open at") ||
		!strings.Contains(detail, "load.curated  started") {
		t.Errorf("runs %s:\n%s", run.ID, detail)
	}

	t.Logf("fusion runs:\n%s\nfusion runs %s:\n%s", list, run.ID, detail)
	// The ledger process restarts, the load still stuck: no second notice.
	stop()
	_, tap2, _ := runLedger(t, cfg, &logs, ledgerProcess{workers: pipeline.Workers, blocked: true})
	time.Sleep(20 * check)
	if n := len(tap2.late(t, run.ID)); n != 0 {
		t.Errorf("%d late notices after the restart, want 0", n)
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers (loggers).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lockedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lockedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
