// Package inproc is the embedded tier's queue transport: named in-memory
// queues with SQS's delivery semantics, behind watermill's Publisher and
// Subscriber. Unlike watermill's GoChannel (which fans every message out to
// every subscriber), subscribers of one queue compete for its messages, so
// a worker scales by subscribing more than once, exactly as on SQS.
package inproc

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Config tunes redelivery.
type Config struct {
	// RedeliveryDelay is how long a nacked message stays invisible before
	// it can be received again (SQS's visibility timeout after a failure).
	RedeliveryDelay time.Duration
	// MaxReceives moves a message to the queue's dead-letter queue
	// (<queue>-dlq) once it has been received this many times without an
	// ack, like an SQS redrive policy. 0 keeps redelivering.
	MaxReceives int
}

// DLQ names the dead-letter queue of a queue.
func DLQ(queue string) string { return queue + "-dlq" }

// MetaReceiveCount is set on each delivery: how many times the message has
// been received, this time included (SQS's ApproximateReceiveCount).
const MetaReceiveCount = "receive_count"

// Broker holds the queues of one process. Clients publish to and subscribe
// from it; queued messages outlive the clients, as they outlive SQS
// clients, until the process exits.
type Broker struct {
	cfg    Config
	mu     sync.Mutex
	queues map[string]*queue
}

// NewBroker creates an empty set of queues.
func NewBroker(cfg Config) *Broker {
	return &Broker{cfg: cfg, queues: map[string]*queue{}}
}

// Publisher returns a new publisher on the broker.
func (b *Broker) Publisher() *Publisher { return &Publisher{broker: b} }

// Subscriber returns a new subscriber on the broker.
func (b *Broker) Subscriber() *Subscriber {
	return &Subscriber{broker: b, cfg: b.cfg, done: make(chan struct{})}
}

// Publisher publishes to the broker's queues.
type Publisher struct {
	broker *Broker
	closed atomic.Bool
}

// Subscriber consumes the broker's queues. Closing it ends its
// subscriptions; the queues and their messages stay with the broker.
type Subscriber struct {
	broker *Broker
	cfg    Config
	mu     sync.Mutex
	closed bool
	done   chan struct{}
	subs   sync.WaitGroup
}

var (
	_ message.Publisher  = (*Publisher)(nil)
	_ message.Subscriber = (*Subscriber)(nil)
)

// ErrClosed is returned after Close.
var ErrClosed = errors.New("inproc: closed")

type entry struct {
	uuid     string
	metadata message.Metadata
	payload  message.Payload
	receives int
}

type queue struct {
	mu      sync.Mutex
	entries []*entry
	wake    chan struct{} // closed and replaced when an entry becomes available
}

func (b *Broker) queue(name string) *queue {
	b.mu.Lock()
	defer b.mu.Unlock()
	q, ok := b.queues[name]
	if !ok {
		q = &queue{wake: make(chan struct{})}
		b.queues[name] = q
	}
	return q
}

func (p *Subscriber) queue(name string) *queue { return p.broker.queue(name) }

func (q *queue) push(e *entry, front bool) {
	q.mu.Lock()
	if front {
		q.entries = append([]*entry{e}, q.entries...)
	} else {
		q.entries = append(q.entries, e)
	}
	close(q.wake)
	q.wake = make(chan struct{})
	q.mu.Unlock()
}

// pop takes the next entry, or returns a channel that signals a new one.
func (q *queue) pop() (*entry, <-chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.entries) == 0 {
		return nil, q.wake
	}
	e := q.entries[0]
	q.entries[0] = nil
	q.entries = q.entries[1:]
	return e, nil
}

// Publish appends copies of the messages to the named queue.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	if p.closed.Load() {
		return ErrClosed
	}
	q := p.broker.queue(topic)
	for _, m := range msgs {
		md := make(message.Metadata, len(m.Metadata))
		for k, v := range m.Metadata {
			md[k] = v
		}
		q.push(&entry{uuid: m.UUID, metadata: md, payload: append(message.Payload(nil), m.Payload...)}, false)
	}
	return nil
}

// Depth returns how many messages wait in a queue (not counting ones being
// processed).
func (b *Broker) Depth(topic string) int {
	q := b.queue(topic)
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries)
}

// Close refuses further publishes.
func (p *Publisher) Close() error {
	p.closed.Store(true)
	return nil
}

// Subscribe returns a channel of the queue's messages. Each subscription
// receives one message at a time and the next only after an ack or nack;
// subscriptions of one queue compete for its messages. A message that is
// nacked, or outstanding when its subscription ends, returns to the queue.
func (p *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	p.subs.Add(1)
	p.mu.Unlock()
	out := make(chan *message.Message)
	go func() {
		defer p.subs.Done()
		defer close(out)
		p.consume(ctx, topic, p.queue(topic), out)
	}()
	return out, nil
}

func (p *Subscriber) consume(ctx context.Context, topic string, q *queue, out chan<- *message.Message) {
	for {
		e, wake := q.pop()
		if e == nil {
			select {
			case <-wake:
				continue
			case <-ctx.Done():
				return
			case <-p.done:
				return
			}
		}
		e.receives++
		if p.cfg.MaxReceives > 0 && e.receives > p.cfg.MaxReceives {
			e.metadata.Set("dead_letter_reason", "max receives exceeded")
			p.queue(DLQ(topic)).push(&entry{uuid: e.uuid, metadata: e.metadata, payload: e.payload}, false)
			continue
		}
		msg := message.NewMessage(e.uuid, e.payload)
		for k, v := range e.metadata {
			msg.Metadata.Set(k, v)
		}
		msg.Metadata.Set(MetaReceiveCount, strconv.Itoa(e.receives))
		msgCtx, cancel := context.WithCancel(ctx)
		msg.SetContext(msgCtx)

		select {
		case out <- msg:
		case <-ctx.Done():
			cancel()
			q.push(e, true)
			return
		case <-p.done:
			cancel()
			q.push(e, true)
			return
		}
		select {
		case <-msg.Acked():
			cancel()
		case <-msg.Nacked():
			cancel()
			p.requeueLater(q, e)
		case <-ctx.Done():
			cancel()
			q.push(e, true)
			return
		case <-p.done:
			cancel()
			q.push(e, true)
			return
		}
	}
}

func (p *Subscriber) requeueLater(q *queue, e *entry) {
	if p.cfg.RedeliveryDelay <= 0 {
		q.push(e, true)
		return
	}
	time.AfterFunc(p.cfg.RedeliveryDelay, func() { q.push(e, false) })
}

// Close ends the subscriptions (their channels close, and messages they
// held return to their queues).
func (p *Subscriber) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()
	p.subs.Wait()
	return nil
}
