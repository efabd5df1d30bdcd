package inproc

import (
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Publisher publishes to the broker's queues.
type Publisher struct {
	broker *Broker
	closed atomic.Bool
}

// Publish appends the messages to the named queue, all or none: they are
// stored when it returns.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if len(msgs) == 0 {
		return nil
	}
	if err := insert(p.broker.db, topic, msgs, time.Now()); err != nil {
		if p.broker.isClosed() {
			return ErrClosed
		}
		return err
	}
	p.broker.signal(topic)
	return nil
}

// Close refuses further publishes.
func (p *Publisher) Close() error {
	p.closed.Store(true)
	return nil
}
