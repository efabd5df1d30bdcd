package transport

import (
	"context"
	"time"
)

// Held is a message a BatchReceiver holds for its caller.
type Held struct {
	// Handle is the receiver's own handle for the message (a row, an SQS
	// receipt handle); callers pass it back untouched.
	Handle   string
	ID       string // the message id: the event id on the bus
	Payload  []byte
	Metadata map[string]string
	// Receives counts how often the message was received, this time
	// included: more than 1 means an earlier holder never acked it.
	Receives int
}

// BatchReceiver receives a queue's messages many at a time and holds them
// until they are acked or released: what a consumer that gathers messages
// into batches needs, where a watermill subscription hands out one message
// and the next only after that one is acked.
//
// Rules:
//   - Receive returns up to n messages of the queue, waiting up to wait
//     for the first; none (and no error) when wait passes or ctx ends
//     first. Every message returned is held: no other receive, in this
//     process or another, gets it until it is released or acked.
//   - A held message stays held for as long as the receiver lives,
//     however long its holder takes: implementations renew whatever lease
//     their queue has (SQS's visibility timeout) until Ack or Release.
//   - Ack deletes messages for good; Release makes them visible again at
//     once. Both take any messages this receiver returned, in any grouping.
//   - Close releases every message still held. A crash releases them too,
//     later (the next owner of an embedded queue file, the end of SQS's
//     visibility timeout): delivery is at least once.
type BatchReceiver interface {
	Receive(ctx context.Context, queue string, n int, wait time.Duration) ([]Held, error)
	Ack(ctx context.Context, queue string, msgs []Held) error
	Release(ctx context.Context, queue string, msgs []Held) error
	Close() error
}
