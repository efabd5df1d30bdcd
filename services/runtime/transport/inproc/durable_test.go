package inproc

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

func openTest(t *testing.T, path string, cfg Config) *Broker {
	t.Helper()
	b, err := Open(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func receive(t *testing.T, msgs <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m := <-msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("nothing delivered")
		return nil
	}
}

// drain receives and acks until the queue stays quiet, counting deliveries
// by uuid.
func drain(t *testing.T, b *Broker, queue string) map[string]int {
	t.Helper()
	sub := b.Subscriber()
	defer sub.Close()
	msgs, err := sub.Subscribe(context.Background(), queue)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for {
		select {
		case m := <-msgs:
			seen[m.UUID]++
			m.Ack()
		case <-time.After(300 * time.Millisecond):
			return seen
		}
	}
}

// waitStored waits until a queue holds n messages, held ones included: acks
// are written after Ack returns.
func waitStored(t *testing.T, b *Broker, queue string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got int
		if err := b.db.QueryRow(`SELECT count(*) FROM messages WHERE queue = ?`, queue).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s holds %d messages, want %d", queue, got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReopenRedeliversUnacked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	b := openTest(t, path, Config{})
	pub := b.Publisher()
	for i := 0; i < 10; i++ {
		if err := pub.Publish("q", message.NewMessage(strconv.Itoa(i), []byte("x"))); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := b.Subscriber().Subscribe(context.Background(), "q")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		receive(t, msgs).Ack()
	}
	held := receive(t, msgs) // received, never acked
	waitStored(t, b, "q", 7)
	// Closing the broker under a running subscription leaves its message
	// held, as a crash would.
	b.Close()

	b = openTest(t, path, Config{})
	seen := drain(t, b, "q")
	if len(seen) != 7 {
		t.Errorf("redelivered %v, want the 7 unacked", seen)
	}
	for i := 0; i < 3; i++ {
		if seen[strconv.Itoa(i)] != 0 {
			t.Errorf("acked message %d delivered again", i)
		}
	}
	if seen[held.UUID] != 1 {
		t.Errorf("held message %s not redelivered", held.UUID)
	}
}

func TestDeadLettersSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	b := openTest(t, path, Config{MaxReceives: 1})
	b.Publisher().Publish("q", message.NewMessage("poison", []byte("x")))
	msgs, _ := b.Subscriber().Subscribe(context.Background(), "q")
	receive(t, msgs).Nack()
	deadline := time.Now().Add(5 * time.Second)
	for b.Depth(DLQ("q")) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	b.Close()

	b = openTest(t, path, Config{MaxReceives: 1})
	if n := b.Depth("q"); n != 0 {
		t.Errorf("queue depth %d after dead-lettering", n)
	}
	dlq, err := b.Subscriber().Subscribe(context.Background(), DLQ("q"))
	if err != nil {
		t.Fatal(err)
	}
	m := receive(t, dlq)
	if m.UUID != "poison" || m.Metadata.Get(MetaDeadLetterReason) == "" || string(m.Payload) != "x" {
		t.Errorf("dead letter %s %v %q", m.UUID, m.Metadata, m.Payload)
	}
	m.Ack()
}

func TestOneConsumerPerFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	a := openTest(t, path, Config{})
	b := openTest(t, path, Config{})
	if _, err := a.Subscriber().Subscribe(context.Background(), "q"); err != nil {
		t.Fatal(err)
	}
	// b may publish, for the consumer to pick up at its next poll ...
	if err := b.Publisher().Publish("q", message.NewMessage("from-b", nil)); err != nil {
		t.Fatal(err)
	}
	// ... but not consume.
	if _, err := b.Subscriber().Subscribe(context.Background(), "q"); !errors.Is(err, ErrOwned) {
		t.Fatalf("second consumer: %v, want ErrOwned", err)
	}
	a.Close()
	if _, err := b.Subscriber().Subscribe(context.Background(), "other"); err != nil {
		t.Fatalf("after the owner closed: %v", err)
	}
}

func TestPollSeesOtherWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	consumer := openTest(t, path, Config{Poll: 20 * time.Millisecond})
	writer := openTest(t, path, Config{})
	msgs, err := consumer.Subscriber().Subscribe(context.Background(), "q")
	if err != nil {
		t.Fatal(err)
	}
	writer.Publisher().Publish("q", message.NewMessage("elsewhere", []byte("x")))
	if m := receive(t, msgs); m.UUID != "elsewhere" {
		t.Errorf("got %s", m.UUID)
	}
}
