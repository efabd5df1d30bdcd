package inproc

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
)

// TestPubSub runs watermill's conformance suite. Feature flags, honestly:
// no consumer groups (queues, not topics with groups), at-least-once, FIFO
// only with a single subscriber, and messages persist across client
// instances for the broker's (the process's) lifetime.
func TestPubSub(t *testing.T) {
	testPubSub(t, NewBroker(Config{}))
}

// TestPubSubDurable runs the suite on a queue file.
func TestPubSubDurable(t *testing.T) {
	broker, err := Open(filepath.Join(t.TempDir(), "queue.db"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Close() }) // after the parallel subtests
	testPubSub(t, broker)
}

func testPubSub(t *testing.T, broker *Broker) {
	tests.TestPubSub(t, tests.Features{
		ConsumerGroups:                      false,
		ExactlyOnceDelivery:                 false,
		GuaranteedOrder:                     false,
		GuaranteedOrderWithSingleSubscriber: true,
		Persistent:                          true,
		RequireSingleInstance:               false,
		NewSubscriberReceivesOldMessages:    false,
		ForceShort:                          raceEnabled,
	}, func(t *testing.T) (message.Publisher, message.Subscriber) {
		return broker.Publisher(), broker.Subscriber()
	}, nil)
}

func TestSubscribersCompete(t *testing.T) {
	broker := NewBroker(Config{})
	ps, pub := broker.Subscriber(), broker.Publisher()
	defer ps.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, _ := ps.Subscribe(ctx, "q")
	b, _ := ps.Subscribe(ctx, "q")
	for i := 0; i < 100; i++ {
		pub.Publish("q", message.NewMessage(strconv.Itoa(i), []byte("x")))
	}
	// Whichever subscription delivers first holds its message unacked; the
	// other one must still be served: they share the queue.
	var held *message.Message
	var other <-chan *message.Message
	select {
	case held = <-a:
		other = b
	case held = <-b:
		other = a
	case <-time.After(5 * time.Second):
		t.Fatal("nothing delivered")
	}
	seen := map[string]int{held.UUID: 1}
	for len(seen) < 100 {
		select {
		case m := <-other:
			seen[m.UUID]++
			m.Ack()
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d messages delivered while one was held", len(seen))
		}
	}
	held.Ack()
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s delivered %d times", id, n)
		}
	}
}

func TestMaxReceivesMovesToDLQ(t *testing.T) {
	broker := NewBroker(Config{MaxReceives: 3})
	ps, pub := broker.Subscriber(), broker.Publisher()
	defer ps.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, _ := ps.Subscribe(ctx, "q")
	pub.Publish("q", message.NewMessage("poison", []byte("x")))
	for i := 1; i <= 3; i++ {
		m := <-msgs
		if got := m.Metadata.Get(MetaReceiveCount); got != strconv.Itoa(i) {
			t.Errorf("receive %d has count %s", i, got)
		}
		m.Nack()
	}
	dlq, _ := ps.Subscribe(ctx, DLQ("q"))
	select {
	case m := <-dlq:
		if m.UUID != "poison" || m.Metadata.Get("dead_letter_reason") == "" {
			t.Errorf("dead letter %s %v", m.UUID, m.Metadata)
		}
		m.Ack()
	case <-time.After(5 * time.Second):
		t.Fatal("nothing reached the DLQ")
	}
	if broker.Depth("q") != 0 {
		t.Error("poison message still queued")
	}
}
