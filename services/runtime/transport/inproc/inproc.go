// Package inproc is the embedded tier's queue transport: named queues with
// SQS's delivery semantics, behind watermill's Publisher and Subscriber.
// Unlike watermill's GoChannel (which fans every message out to every
// subscriber), subscribers of one queue compete for its messages, so a
// worker scales by subscribing more than once, exactly as on SQS.
//
// The queues live in a SQLite database: a file (Open), which makes them
// survive a crash of the process, or memory (NewBroker), which is the same
// code on a database that dies with the broker. See store.go for the
// durability rules and owner.go for who may consume a file.
package inproc

import (
	"database/sql"
	"errors"
	"fmt"
	"sync"
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
	// Poll is how often an idle subscription looks for messages it was
	// not woken for: ones written by another process. Default 250ms.
	Poll time.Duration
}

// DLQ names the dead-letter queue of a queue.
func DLQ(queue string) string { return queue + "-dlq" }

// MetaReceiveCount is set on each delivery: how many times the message has
// been received, this time included (SQS's ApproximateReceiveCount).
const MetaReceiveCount = "receive_count"

// MetaDeadLetterReason is set on a message moved to a dead-letter queue.
const MetaDeadLetterReason = "dead_letter_reason"

// ErrClosed is returned after Close.
var ErrClosed = errors.New("inproc: closed")

// Broker holds a set of queues. Clients publish to and subscribe from it;
// queued messages outlive the clients, as they outlive SQS clients, until
// the broker's database goes: at Close for NewBroker, never for Open.
type Broker struct {
	cfg   Config
	db    *sql.DB
	owner *owner // nil in memory
	done  chan struct{}

	mu     sync.Mutex
	wakes  map[string]chan struct{}
	closed bool
}

var (
	_ message.Publisher  = (*Publisher)(nil)
	_ message.Subscriber = (*Subscriber)(nil)
)

// NewBroker creates an empty set of queues in memory.
func NewBroker(cfg Config) *Broker {
	db, err := openDB(":memory:")
	if err != nil {
		// An in-memory database fails to open only if the driver is broken.
		panic(fmt.Sprintf("inproc: in-memory queues: %v", err))
	}
	return newBroker(cfg, db, nil)
}

// Open opens (creating if needed) the queues stored in the SQLite file at
// path. Any number of processes may open the file and publish to it, but
// only one consumes it: the first Subscribe takes ownership of the file
// (ErrOwned while another process has it) and then makes every message
// the previous owner had received and not acked visible again.
func Open(path string, cfg Config) (*Broker, error) {
	db, err := openDB("file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("inproc %s: %w", path, err)
	}
	return newBroker(cfg, db, &owner{path: path + ".lock"}), nil
}

func newBroker(cfg Config, db *sql.DB, o *owner) *Broker {
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	return &Broker{cfg: cfg, db: db, owner: o, done: make(chan struct{}), wakes: map[string]chan struct{}{}}
}

// Publisher returns a new publisher on the broker.
func (b *Broker) Publisher() *Publisher { return &Publisher{broker: b} }

// Subscriber returns a new subscriber on the broker.
func (b *Broker) Subscriber() *Subscriber {
	return &Subscriber{broker: b, done: make(chan struct{})}
}

// Depth returns how many messages wait in a queue (not counting ones being
// processed or waiting out a redelivery delay).
func (b *Broker) Depth(topic string) int {
	n, _ := depth(b.db, topic, time.Now())
	return n
}

// Close ends the broker's subscriptions and closes its database, giving up
// ownership of the file. Messages received and not acked yet stay claimed
// in the file, to be redelivered by the next owner, as after a crash.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.done)
	b.mu.Unlock()
	err := b.db.Close()
	if b.owner != nil {
		err = errors.Join(err, b.owner.release())
	}
	return err
}

// own makes this broker the consumer of its file (see Open).
func (b *Broker) own() error {
	if b.owner == nil {
		return nil
	}
	return b.owner.acquire(func() error { return releaseAll(b.db, time.Now()) })
}

// waiter returns a channel closed at the next signal of the queue; take it
// before looking at the queue so that no signal is missed in between.
func (b *Broker) waiter(topic string) <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	w, ok := b.wakes[topic]
	if !ok {
		w = make(chan struct{})
		b.wakes[topic] = w
	}
	return w
}

// signal wakes the queue's idle subscriptions: a message became visible.
func (b *Broker) signal(topic string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w, ok := b.wakes[topic]; ok {
		close(w)
		delete(b.wakes, topic)
	}
}

func (b *Broker) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}
