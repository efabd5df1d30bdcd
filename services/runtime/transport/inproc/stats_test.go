package inproc

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// TestQueueStats counts ready messages (not one being handled), the
// dead-letter queue's messages and the age of the oldest ready message.
func TestQueueStats(t *testing.T) {
	broker := NewBroker(Config{})
	defer broker.Close()
	pub := broker.Publisher()
	for _, id := range []string{"a", "b"} {
		if err := pub.Publish("q", message.NewMessage(id, []byte("x"))); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Publish(DLQ("q"), message.NewMessage("dead", []byte("x"))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	ctx := context.Background()
	stats, err := broker.QueueStats(ctx, []string{"q", "empty"})
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 {
		t.Fatalf("stats %+v", stats)
	}
	q, empty := stats[0], stats[1]
	if q.Queue != "q" || q.Waiting != 2 || q.DeadLetters != 1 || !q.OldestKnown || q.Oldest < 30*time.Millisecond || q.Oldest > time.Minute {
		t.Errorf("q: %+v", q)
	}
	if empty.Queue != "empty" || empty.Waiting != 0 || empty.DeadLetters != 0 || empty.Oldest != 0 {
		t.Errorf("empty: %+v", empty)
	}

	// A message being handled is not waiting.
	sub := broker.Subscriber()
	defer sub.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs, err := sub.Subscribe(sctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	m := <-msgs
	stats, err = broker.QueueStats(ctx, []string{"q"})
	if err != nil || stats[0].Waiting != 1 {
		t.Errorf("while one is handled: %+v %v", stats, err)
	}
	m.Ack()
}
