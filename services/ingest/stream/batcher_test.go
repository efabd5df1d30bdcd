package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/lake/fslake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"github.com/fusiondata/fusion/services/runtime/transport/inproc"
)

// bench is a micro-batcher on a real queue and lake, run until stop.
type bench struct {
	t         testing.TB
	lake      *fslake.Lake
	broker    *inproc.Broker
	pipelines *pipeline.Registry
	mu        sync.Mutex
	announced []lake.Object
	failing   bool // announcements fail
	tracer    trace.Tracer
	stop      func()
}

func newBench(t testing.TB, stream string) *bench {
	t.Helper()
	dir := t.TempDir()
	pdir := filepath.Join(dir, "pipelines")
	os.MkdirAll(pdir, 0o755)
	files := map[string]string{
		"clicks.yaml": "name: clicks\nsource: {format: jsonl}\nstream: " + stream + "\ntransform: {sql: SELECT * FROM input}\n",
		"files.yaml":  "name: files\nsource: {format: jsonl}\ntransform: {sql: SELECT * FROM input}\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(pdir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := pipeline.NewRegistry(os.DirFS(pdir), pdir)
	if err != nil {
		t.Fatal(err)
	}
	if probs := reg.Problems(); len(probs) > 0 {
		t.Fatal(probs)
	}
	lk, err := fslake.Open(filepath.Join(dir, "lake"), "fusion-lake")
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{t: t, lake: lk, broker: inproc.NewBroker(inproc.Config{}), pipelines: reg}
	t.Cleanup(func() {
		if b.stop != nil {
			b.stop()
		}
		b.broker.Close()
	})
	return b
}

// start runs a batcher until stop (which waits for it).
func (b *bench) start() {
	recv := b.broker.Batches()
	s := &Batcher{Lake: b.lake, Pipelines: b.pipelines, Receiver: recv, DeadLetters: b.broker.Publisher(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Tracer: b.tracer,
		Announce: func(_ context.Context, o lake.Object) error {
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.failing {
				return errors.New("the bus is down")
			}
			b.announced = append(b.announced, o)
			return nil
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); recv.Close(); close(done) }()
	b.stop = func() { cancel(); <-done; b.stop = nil }
}

// send publishes records of a pipeline as one stream event.
func (b *bench) send(pipelineName string, records ...string) {
	b.t.Helper()
	b.sendTraced(pipelineName, "", records...)
}

// sendTraced sends records in an event carrying a W3C traceparent.
func (b *bench) sendTraced(pipelineName, traceparent string, records ...string) {
	b.t.Helper()
	d := &messages.StreamRecords{Pipeline: pipelineName}
	d.Traceparent = traceparent
	for _, r := range records {
		d.Records = append(d.Records, json.RawMessage(r))
	}
	env, err := messages.New(d, time.Now())
	if err != nil {
		b.t.Fatal(err)
	}
	msg, err := transport.ToMessage(env, "test")
	if err != nil {
		b.t.Fatal(err)
	}
	if err := b.broker.Publisher().Publish(routing.StreamQueue, msg); err != nil {
		b.t.Fatal(err)
	}
}

// sealed waits until n micro-batches were announced and returns their
// lines, by object, in seal order.
func (b *bench) sealed(n int) [][]string {
	b.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		b.mu.Lock()
		objs := append([]lake.Object(nil), b.announced...)
		b.mu.Unlock()
		if len(objs) >= n {
			var out [][]string
			for _, o := range objs {
				out = append(out, b.lines(o.Key))
			}
			return out
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%d of %d micro-batches sealed", len(objs), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (b *bench) lines(key string) []string {
	b.t.Helper()
	r, err := b.lake.Open(context.Background(), key)
	if err != nil {
		b.t.Fatal(err)
	}
	defer r.Close()
	body, _ := io.ReadAll(r)
	return strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
}

func records(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf(`{"record_id":"r%03d","page":"/p%d"}`, i, i))
	}
	return out
}

// Records are sealed by count into objects under the pipeline's stream
// folder, across the events that carried them; every event is acked once
// all its records are sealed.
func TestSealByCount(t *testing.T) {
	b := newBench(t, "{max_records: 10, max_wait: 15m}")
	b.start()
	b.send("clicks", records(0, 25)...)
	b.send("clicks", records(25, 30)...)
	got := b.sealed(3)
	for i, lines := range got {
		if len(lines) != 10 || lines[0] != records(10*i, 10*i+1)[0] {
			t.Errorf("batch %d: %d lines from %s", i, len(lines), lines[0])
		}
	}
	b.mu.Lock()
	for _, o := range b.announced {
		if !strings.HasPrefix(o.Key, "landing/clicks/stream/") || !strings.HasSuffix(o.Key, ".jsonl") {
			t.Errorf("sealed at %s", o.Key)
		}
	}
	b.mu.Unlock()
	b.stop()
	if n := b.broker.Depth(routing.StreamQueue); n != 0 {
		t.Errorf("%d events not acked", n)
	}
}

// A batch seals max_wait after its first record, with what it has; a
// record sent three times is in it once; a record without an id gets one.
func TestSealByWaitOneRecordPerID(t *testing.T) {
	b := newBench(t, "{max_records: 1000, max_wait: 50ms}")
	b.start()
	for i := 0; i < 3; i++ {
		b.send("clicks", records(0, 3)...)
	}
	b.send("clicks", `{"page":"/anonymous"}`)
	got := b.sealed(1)
	if len(got[0]) != 4 || got[0][0] != records(0, 1)[0] || !strings.HasPrefix(got[0][3], `{"record_id":"`) {
		t.Fatalf("batch %v", got[0])
	}
	b.stop()
	if n := b.broker.Depth(routing.StreamQueue); n != 0 {
		t.Errorf("%d events not acked", n)
	}
}

// A batch never holds more than max_bytes of JSON lines (but for one
// record larger than that, alone).
func TestSealByBytes(t *testing.T) {
	b := newBench(t, "{max_records: 1000, max_bytes: 1KiB, max_wait: 15m}")
	b.start()
	var recs []string
	for i := 0; i < 20; i++ {
		recs = append(recs, fmt.Sprintf(`{"record_id":"r%02d","pad":"%s"}`, i, strings.Repeat("x", 200)))
	}
	b.send("clicks", recs...)
	b.send("clicks", recs[:1]...) // flushes nothing by itself: the last batch waits
	got := b.sealed(4)
	total := 0
	for i, lines := range got {
		size := 0
		for _, l := range lines {
			size += len(l) + 1
		}
		if size > 1024 {
			t.Errorf("batch %d: %d bytes", i, size)
		}
		total += len(lines)
	}
	if total < 16 {
		t.Errorf("%d records in %d batches", total, len(got))
	}
}

// Messages stay held while their batch is not sealed: when the bus is
// down the batch waits, and a batcher stopped then gives its messages
// back — the next one seals the records again (at least once).
func TestHeldUntilAnnounced(t *testing.T) {
	b := newBench(t, "{max_records: 5, max_wait: 15m}")
	b.failing = true
	b.start()
	b.send("clicks", records(0, 5)...)
	deadline := time.Now().Add(time.Minute)
	for {
		objs, _ := b.lake.List(context.Background(), "landing/clicks/stream/")
		if len(objs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing written")
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.stop()
	if n := b.broker.Depth(routing.StreamQueue); n != 1 {
		t.Fatalf("the event was acked before its batch was announced (%d waiting)", n)
	}
	b.failing = false
	b.start()
	got := b.sealed(1)
	if len(got[0]) != 5 {
		t.Errorf("sealed again: %v", got[0])
	}
	b.stop()
	if n := b.broker.Depth(routing.StreamQueue); n != 0 {
		t.Errorf("%d events not acked", n)
	}
}

// Events no batch can take go to the stream's dead-letter queue with the
// reason; the rest flow on.
func TestUnbatchableEventsAreDeadLettered(t *testing.T) {
	b := newBench(t, "{max_records: 2, max_wait: 15m}")
	b.start()
	b.send("nobody", records(0, 1)...)
	b.send("files", records(0, 1)...)
	b.send("clicks", `{"record_id":{"nested":1}}`)
	b.send("clicks", records(0, 2)...)
	got := b.sealed(1)
	if len(got[0]) != 2 {
		t.Errorf("batch %v", got[0])
	}
	recv := b.broker.Batches()
	defer recv.Close()
	letters, err := recv.Receive(context.Background(), "stream-dlq", 10, time.Second)
	if err != nil || len(letters) != 3 {
		t.Fatalf("dead letters %d %v", len(letters), err)
	}
	var reasons []string
	for _, l := range letters {
		reasons = append(reasons, l.Metadata["dead_letter_reason"])
	}
	for i, want := range []string{`no pipeline named "nobody"`, "pipeline files does not stream", "records[0]: record_id: the record's id must be a string or a number"} {
		if !strings.Contains(reasons[i], want) {
			t.Errorf("dead letter %d: %q lacks %q", i, reasons[i], want)
		}
	}
}

// Sealing is a fan-in: the seal's span links the trace context of every
// records event in the batch.
func TestSealLinksEveryRecordsEvent(t *testing.T) {
	b := newBench(t, "{max_records: 1000, max_wait: 50ms}")
	rec := tracetest.NewSpanRecorder()
	b.tracer = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("test")
	b.start()
	parents := []string{
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
	b.sendTraced("clicks", parents[0], records(0, 2)...)
	b.sendTraced("clicks", parents[1], records(2, 4)...)
	if got := b.sealed(1); len(got[0]) != 4 {
		t.Fatalf("batch %v", got[0])
	}
	b.stop()
	var seals []sdktrace.ReadOnlySpan
	for _, sp := range rec.Ended() {
		if sp.Name() == "ingest seal micro-batch" {
			seals = append(seals, sp)
		}
	}
	if len(seals) != 1 {
		t.Fatalf("%d seal spans", len(seals))
	}
	linked := map[string]bool{}
	for _, l := range seals[0].Links() {
		linked[fmt.Sprintf("00-%s-%s-01", l.SpanContext.TraceID(), l.SpanContext.SpanID())] = true
	}
	for _, p := range parents {
		if !linked[p] {
			t.Errorf("the seal does not link %s (links %v)", p, linked)
		}
	}
	if seals[0].Parent().IsValid() {
		t.Errorf("the seal has a parent: %v", seals[0].Parent())
	}
}
