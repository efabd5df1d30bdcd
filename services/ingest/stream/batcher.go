package stream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// Seal reasons.
const (
	SealedByCount = "count"
	SealedByBytes = "bytes"
	SealedByWait  = "wait"
)

// Batcher gathers the stream queue's records into micro-batches, one open
// batch per pipeline, and seals each as one JSON-lines object under
// <source.prefix>stream/ — by count, bytes or wait, whichever first.
//
// The messages whose records a batch holds stay held (unacked) while it
// fills; a message is acked only once every batch holding its records is
// sealed: written to the lake and announced as a landed object. A crash
// before the ack gives the messages back and their records are batched
// again — at least once; the pipeline's merge by the record id makes the
// warehouse hold each record once. Within one batch a record id appears
// once (the last record with it wins).
//
// Memory is bounded: an open batch holds at most max_bytes of records
// (plus one record larger than that alone), and at most receiveMessages
// events wait to be taken apart.
type Batcher struct {
	Lake      lake.Lake
	Pipelines worker.Pipelines
	Receiver  transport.BatchReceiver
	// Announce publishes a sealed batch's "Object Created" event; nil when
	// the lake announces it itself (S3 on AWS).
	Announce    func(ctx context.Context, obj lake.Object) error
	DeadLetters message.Publisher
	Log         *slog.Logger
	Now         func() time.Time
	Metrics     *Metrics
	// Tracer traces each seal (trace.go); nil traces nothing.
	Tracer trace.Tracer

	open    map[string]*batch // by pipeline: taking records
	sealing []*batch          // full, but not yet written or announced
	retry   time.Time         // when to try sealing them again
}

// receiveMessages is how many events one receive asks for.
const receiveMessages = 32

// idleWait is how long a receive waits when no batch is open.
const idleWait = 5 * time.Second

// held is a received message and how many of its records are in batches
// not sealed yet.
type held struct {
	msg     transport.Held
	pending int
	trace   trace.SpanContext // the records event's, linked from the seal's span
}

// batch is one pipeline's open micro-batch.
type batch struct {
	pipeline string
	b        pipeline.Batching
	started  time.Time
	lines    [][]byte
	byID     map[string]int // record id -> index in lines
	bytes    int64          // JSON lines, newlines included
	from     map[*held]int  // messages with records here, and how many
	reason   string         // why it was sealed
	written  *lake.Object   // written, not announced yet
}

// Run batches until ctx ends, then gives back every message it holds.
func (s *Batcher) Run(ctx context.Context) error {
	s.open = map[string]*batch{}
	if s.Now == nil {
		s.Now = time.Now
	}
	defer s.releaseAll()
	for {
		if len(s.sealing) > 0 {
			// The lake or the bus failed: take nothing more until the
			// full batches are sealed.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(s.wait()):
			}
			s.sealDue(ctx)
			continue
		}
		msgs, err := s.Receiver.Receive(ctx, routing.StreamQueue, receiveMessages, s.wait())
		if ctx.Err() != nil {
			s.Receiver.Release(context.WithoutCancel(ctx), routing.StreamQueue, msgs)
			return ctx.Err()
		}
		if err != nil {
			s.Log.Error("stream: receive", "error", err.Error())
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
		for _, m := range msgs {
			s.add(ctx, m)
		}
		s.sealDue(ctx)
	}
}

// wait is how long a receive may wait: until the first open batch is due.
func (s *Batcher) wait() time.Duration {
	w := idleWait
	now := s.Now()
	for _, b := range s.open {
		w = min(w, b.started.Add(b.b.MaxWait).Sub(now))
	}
	if len(s.sealing) > 0 {
		w = min(w, s.retry.Sub(now))
	}
	return max(w, time.Millisecond)
}

// add takes a message's records apart into its pipeline's batch, sealing
// the batch whenever it is full. A message that cannot be batched goes to
// the stream's dead-letter queue.
func (s *Batcher) add(ctx context.Context, m transport.Held) {
	sr, c, err := s.decode(ctx, m)
	if err != nil {
		s.deadLetter(ctx, m, err)
		return
	}
	recs := make([]prepared, len(sr.Records))
	for i, r := range sr.Records {
		if recs[i], err = c.prepare(r); err != nil {
			s.deadLetter(ctx, m, &RecordError{Where: fmt.Sprintf("records[%d]", i), Err: err})
			return
		}
	}
	s.Metrics.received(ctx, sr.Pipeline, len(recs))
	h := &held{msg: m, trace: recordsContext(ctx, sr)}
	for _, r := range recs {
		b := s.open[sr.Pipeline]
		if b != nil && b.bytes+int64(len(r.line))+1 > b.b.MaxBytes {
			s.seal(ctx, b, SealedByBytes)
			b = nil
		}
		if b == nil {
			b = &batch{pipeline: sr.Pipeline, b: c.b, started: s.Now(), byID: map[string]int{}, from: map[*held]int{}}
			s.open[sr.Pipeline] = b
		}
		b.put(r, h)
		switch {
		case len(b.lines) >= b.b.MaxRecords:
			s.seal(ctx, b, SealedByCount)
		case b.bytes >= b.b.MaxBytes:
			s.seal(ctx, b, SealedByBytes)
		}
	}
}

// put adds a record, replacing an earlier one with its id.
func (b *batch) put(r prepared, h *held) {
	line := r.line
	if i, ok := b.byID[r.id]; ok {
		b.bytes += int64(len(line) - len(b.lines[i]))
		b.lines[i] = line
	} else {
		b.byID[r.id] = len(b.lines)
		b.lines = append(b.lines, line)
		b.bytes += int64(len(line)) + 1
	}
	b.from[h]++
	h.pending++
}

// decode reads a message's stream records and its pipeline's checker.
func (s *Batcher) decode(ctx context.Context, m transport.Held) (*messages.StreamRecords, checker, error) {
	env, err := messages.Parse(m.Payload)
	if err != nil {
		return nil, checker{}, err
	}
	if env, err = worker.Redeem(ctx, s.Lake, env); err != nil {
		return nil, checker{}, err
	}
	d, err := messages.Decode(env)
	if err != nil {
		return nil, checker{}, err
	}
	sr, ok := d.(*messages.StreamRecords)
	if !ok {
		return nil, checker{}, fmt.Errorf("%w: the stream queue takes %s, not %s", messages.ErrUnknownType, messages.TypeStreamRecords, env.DetailType)
	}
	p, err := s.Pipelines.Get(sr.Pipeline)
	if err != nil {
		return nil, checker{}, err
	}
	c, ok := newChecker(p)
	if !ok {
		return nil, checker{}, fmt.Errorf("pipeline %s does not stream (%s has no stream block)", p.Name, p.File)
	}
	return sr, c, nil
}

// sealDue seals the batches open for their max_wait, once what failed to
// seal before is sealed.
func (s *Batcher) sealDue(ctx context.Context) {
	now := s.Now()
	if len(s.sealing) > 0 {
		if now.Before(s.retry) {
			return
		}
		again := s.sealing
		s.sealing = nil
		for _, b := range again {
			s.finish(ctx, b)
		}
		if len(s.sealing) > 0 {
			return
		}
	}
	for _, b := range s.open {
		if !now.Before(b.started.Add(b.b.MaxWait)) {
			s.seal(ctx, b, SealedByWait)
		}
	}
}

// seal closes a batch to new records and seals it.
func (s *Batcher) seal(ctx context.Context, b *batch, reason string) {
	if s.open[b.pipeline] == b {
		delete(s.open, b.pipeline)
	}
	b.reason = reason
	if len(s.sealing) > 0 {
		s.sealing = append(s.sealing, b) // keep the order: after the ones waiting
		return
	}
	s.finish(ctx, b)
}

// finish writes a batch to the lake, announces it, and acks the messages
// all of whose records are now sealed. On failure the batch waits (its
// messages held) to be finished again after a pause: an object written is
// not written again, only announced.
func (s *Batcher) finish(ctx context.Context, b *batch) {
	ctx, span := s.startSeal(ctx, b)
	defer span.End()
	if b.written == nil {
		key, body := b.object(s.Now())
		span.SetAttributes(attribute.String("fusion.object", key))
		obj, err := s.Lake.Put(ctx, key, bytes.NewReader(body))
		if err != nil {
			s.failed(b, "write", err)
			return
		}
		b.written = &obj
		s.Log.Info("micro-batch sealed", "pipeline", b.pipeline, "key", key, "records", len(b.lines), "bytes", obj.Size,
			"reason", b.reason, "age_ms", s.Now().Sub(b.started).Milliseconds())
		s.Metrics.sealed(ctx, b.pipeline, b.reason, len(b.lines))
	}
	if s.Announce != nil {
		if err := s.Announce(ctx, *b.written); err != nil {
			s.failed(b, "announce", err)
			return
		}
	}
	var done []transport.Held
	for h, n := range b.from {
		if h.pending -= n; h.pending == 0 {
			done = append(done, h.msg)
		}
	}
	if err := s.Receiver.Ack(ctx, routing.StreamQueue, done); err != nil {
		// The records are sealed; the messages come back and are sealed
		// again, which the merge by record id absorbs.
		s.Log.Warn("stream: ack", "error", err.Error(), "messages", len(done))
	}
}

func (s *Batcher) failed(b *batch, what string, err error) {
	s.Log.Error("stream: micro-batch not sealed; retrying", "pipeline", b.pipeline, "step", what, "error", err.Error(), "records", len(b.lines))
	s.sealing = append(s.sealing, b)
	s.retry = s.Now().Add(time.Second)
}

// object is a batch's key and JSON lines. The key sorts by seal time and
// names the content, so the same records sealed twice differ only in time.
func (b *batch) object(at time.Time) (string, []byte) {
	var body bytes.Buffer
	body.Grow(int(b.bytes))
	for _, l := range b.lines {
		body.Write(l)
		body.WriteByte('\n')
	}
	sum := sha256.Sum256(body.Bytes())
	key := b.b.Prefix + at.UTC().Format("20060102T150405.000000Z") + "-" + hex.EncodeToString(sum[:6]) + ".jsonl"
	return key, body.Bytes()
}

// deadLetter sends a message no batch can take to the stream's dead-letter
// queue with the reason, and acks it.
func (s *Batcher) deadLetter(ctx context.Context, m transport.Held, reason error) {
	s.Log.Warn("stream records dead-lettered", "event", m.ID, "error", reason.Error())
	s.Metrics.deadLettered(ctx)
	if s.DeadLetters != nil {
		dl := message.NewMessage(m.ID, m.Payload)
		for _, k := range []string{transport.MetaEventID, transport.MetaDetailType, transport.MetaTraceparent, transport.MetaTracestate} {
			if v := m.Metadata[k]; v != "" {
				dl.Metadata.Set(k, v)
			}
		}
		dl.Metadata.Set("dead_letter_reason", clipText(reason.Error(), 1024))
		dl.Metadata.Set("dead_letter_queue", routing.StreamQueue)
		if err := s.DeadLetters.Publish(worker.DeadLetterQueue(routing.StreamQueue), dl); err != nil {
			s.Log.Error("stream: dead letter", "error", err.Error())
			s.Receiver.Release(ctx, routing.StreamQueue, []transport.Held{m}) // try again later
			return
		}
	}
	if err := s.Receiver.Ack(ctx, routing.StreamQueue, []transport.Held{m}); err != nil {
		s.Log.Warn("stream: ack", "error", err.Error())
	}
}

// releaseAll gives back every message an open batch holds.
func (s *Batcher) releaseAll() {
	seen := map[*held]bool{}
	var msgs []transport.Held
	for _, b := range append(s.sealing, mapValues(s.open)...) {
		for h := range b.from {
			if !seen[h] {
				seen[h] = true
				msgs = append(msgs, h.msg)
			}
		}
	}
	s.sealing = nil
	s.open = map[string]*batch{}
	if len(msgs) > 0 {
		if err := s.Receiver.Release(context.Background(), routing.StreamQueue, msgs); err != nil && !errors.Is(err, context.Canceled) {
			s.Log.Warn("stream: release", "error", err.Error())
		}
	}
}

func mapValues(m map[string]*batch) []*batch {
	out := make([]*batch, 0, len(m))
	for _, b := range m {
		out = append(out, b)
	}
	return out
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
