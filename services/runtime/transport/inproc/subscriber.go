package inproc

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Subscriber consumes the broker's queues. Closing it ends its
// subscriptions; the queues and their messages stay with the broker.
type Subscriber struct {
	broker *Broker
	mu     sync.Mutex
	closed bool
	done   chan struct{}
	subs   sync.WaitGroup
}

// Subscribe returns a channel of the queue's messages. Each subscription
// receives one message at a time and the next only after an ack or nack;
// subscriptions of one queue compete for its messages. A message that is
// nacked, or outstanding when its subscription ends, returns to the queue.
// On a file, the first Subscribe takes ownership of it (see Open).
func (p *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.broker.isClosed() {
		return nil, ErrClosed
	}
	if err := p.broker.own(); err != nil {
		return nil, err
	}
	p.subs.Add(1)
	out := make(chan *message.Message)
	go func() {
		defer p.subs.Done()
		defer close(out)
		p.consume(ctx, topic, out)
	}()
	return out, nil
}

func (p *Subscriber) consume(ctx context.Context, topic string, out chan<- *message.Message) {
	b := p.broker
	poll := time.NewTimer(b.cfg.Poll)
	defer poll.Stop()
	for {
		wake := b.waiter(topic)
		s, err := claim(b.db, topic, time.Now())
		if err == nil && s != nil && b.cfg.MaxReceives > 0 && s.receives > b.cfg.MaxReceives {
			err = deadLetter(b.db, s, DLQ(topic), "max receives exceeded", time.Now())
			if err == nil {
				b.signal(DLQ(topic))
				continue
			}
		}
		if err != nil || s == nil {
			// Idle (or the database failed, which a retry after the poll
			// interval may outlive): wait for a publish or the poll.
			poll.Reset(b.cfg.Poll)
			select {
			case <-wake:
			case <-poll.C:
			case <-ctx.Done():
				return
			case <-p.done:
				return
			case <-b.done:
				return
			}
			continue
		}
		if !p.deliver(ctx, topic, s, out) {
			return
		}
	}
}

// deliver hands a claimed message out and settles it by its ack or nack;
// false when the subscription ended first (the message is released).
func (p *Subscriber) deliver(ctx context.Context, topic string, s *stored, out chan<- *message.Message) bool {
	b := p.broker
	msg := message.NewMessage(s.uuid, s.payload)
	for k, v := range s.metadata {
		msg.Metadata.Set(k, v)
	}
	msg.Metadata.Set(MetaReceiveCount, strconv.Itoa(s.receives))
	msgCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	msg.SetContext(msgCtx)

	select {
	case out <- msg:
	case <-ctx.Done():
		p.release(topic, s, 0)
		return false
	case <-p.done:
		p.release(topic, s, 0)
		return false
	case <-b.done:
		return false
	}
	ended := false
	select {
	case <-msg.Acked():
	case <-msg.Nacked():
	case <-ctx.Done():
		ended = true
	case <-p.done:
		ended = true
	case <-b.done:
		return false // the database is gone: the message stays held
	}
	// An ack or nack given before the subscription ended counts, whichever
	// of the two the select above happened to see first.
	select {
	case <-msg.Acked():
		// A failed delete leaves the message held: the next owner
		// redelivers it, which at-least-once allows.
		ack(b.db, s.seq)
	case <-msg.Nacked():
		p.release(topic, s, b.cfg.RedeliveryDelay)
	default:
		p.release(topic, s, 0)
	}
	return !ended
}

// release makes a message visible again after delay and wakes the queue's
// subscriptions then.
func (p *Subscriber) release(topic string, s *stored, delay time.Duration) {
	b := p.broker
	if delay < 0 {
		delay = 0
	}
	if release(b.db, s.seq, time.Now().Add(delay)) != nil {
		return // still held: the next owner redelivers it
	}
	if delay == 0 {
		b.signal(topic)
		return
	}
	time.AfterFunc(delay, func() { b.signal(topic) })
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
