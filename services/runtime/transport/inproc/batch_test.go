package inproc

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/fusiondata/fusion/services/runtime/transport"
)

func publishN(t *testing.T, b *Broker, queue string, n int) {
	t.Helper()
	var msgs []*message.Message
	for i := 0; i < n; i++ {
		m := message.NewMessage(fmt.Sprintf("m%03d", i), []byte(fmt.Sprintf("payload %d", i)))
		m.Metadata.Set("event_id", fmt.Sprintf("e%d", i))
		msgs = append(msgs, m)
	}
	if err := b.Publisher().Publish(queue, msgs...); err != nil {
		t.Fatal(err)
	}
}

func ids(msgs []transport.Held) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

// Held messages are nobody else's until released; released ones come back
// (their receive count up), acked ones never do.
func TestBatchesHoldAckAndRelease(t *testing.T) {
	b := NewBroker(Config{})
	defer b.Close()
	publishN(t, b, "stream", 25)
	ctx := context.Background()
	r1, r2 := b.Batches(), b.Batches()
	defer r1.Close()
	defer r2.Close()

	first, err := r1.Receive(ctx, "stream", 10, time.Second)
	if err != nil || fmt.Sprint(ids(first)) != "[m000 m001 m002 m003 m004 m005 m006 m007 m008 m009]" {
		t.Fatalf("first batch %v %v", ids(first), err)
	}
	if first[3].Metadata["event_id"] != "e3" || string(first[3].Payload) != "payload 3" || first[3].Receives != 1 {
		t.Errorf("message %+v", first[3])
	}
	second, err := r2.Receive(ctx, "stream", 100, time.Second)
	if err != nil || len(second) != 15 || second[0].ID != "m010" {
		t.Fatalf("second receiver got %v %v", ids(second), err)
	}
	if more, err := r2.Receive(ctx, "stream", 10, 20*time.Millisecond); err != nil || len(more) != 0 {
		t.Fatalf("held messages received again: %v %v", ids(more), err)
	}
	if b.Depth("stream") != 0 {
		t.Errorf("depth %d while all are held", b.Depth("stream"))
	}
	// Ack half of the first batch, release the rest: only those return.
	if err := r1.Ack(ctx, "stream", first[:5]); err != nil {
		t.Fatal(err)
	}
	if err := r1.Release(ctx, "stream", first[5:]); err != nil {
		t.Fatal(err)
	}
	again, err := r2.Receive(ctx, "stream", 100, time.Second)
	if err != nil || fmt.Sprint(ids(again)) != "[m005 m006 m007 m008 m009]" || again[0].Receives != 2 {
		t.Fatalf("after release: %v %v", ids(again), err)
	}
	if err := r2.Ack(ctx, "stream", append(second, again...)); err != nil {
		t.Fatal(err)
	}
	// Acking twice is harmless.
	if err := r2.Ack(ctx, "stream", again); err != nil {
		t.Fatal(err)
	}
	if n := storedCount(t, b, "stream"); n != 0 {
		t.Errorf("%d messages left", n)
	}
}

func storedCount(t *testing.T, b *Broker, queue string) int {
	t.Helper()
	var n int
	if err := b.db.QueryRow(`SELECT count(*) FROM messages WHERE queue = ?`, queue).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A receive waits for the first message; with none, it returns empty once
// its wait is over or its context ends.
func TestBatchesWait(t *testing.T) {
	b := NewBroker(Config{})
	defer b.Close()
	r := b.Batches()
	defer r.Close()
	if got, err := r.Receive(context.Background(), "stream", 10, 10*time.Millisecond); err != nil || len(got) != 0 {
		t.Fatalf("empty queue: %v %v", got, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got, err := r.Receive(ctx, "stream", 10, time.Hour); err != nil || len(got) != 0 {
		t.Fatalf("ended context: %v %v", got, err)
	}
	done := make(chan []transport.Held)
	go func() {
		got, _ := r.Receive(context.Background(), "stream", 10, time.Minute)
		done <- got
	}()
	publishN(t, b, "stream", 1)
	if got := <-done; len(got) != 1 {
		t.Fatalf("a waiting receive got %v", ids(got))
	}
	if _, err := r.Receive(context.Background(), "stream", 0, time.Second); err == nil {
		t.Error("a receive of 0 messages was accepted")
	}
}

// Close gives back what is held; a crash (the broker's file closed with
// messages held) redelivers them to the next owner.
func TestBatchesCloseAndCrash(t *testing.T) {
	b := NewBroker(Config{})
	defer b.Close()
	publishN(t, b, "stream", 3)
	r := b.Batches()
	if got, _ := r.Receive(context.Background(), "stream", 10, time.Second); len(got) != 3 {
		t.Fatalf("got %v", ids(got))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Receive(context.Background(), "stream", 10, time.Millisecond); !errors.Is(err, ErrClosed) {
		t.Errorf("receive after close: %v", err)
	}
	if b.Depth("stream") != 3 {
		t.Errorf("close left %d of 3 visible", b.Depth("stream"))
	}

	path := filepath.Join(t.TempDir(), "queue.db")
	f := openTest(t, path, Config{})
	publishN(t, f, "stream", 4)
	held, err := f.Batches().Receive(context.Background(), "stream", 10, time.Second)
	if err != nil || len(held) != 4 {
		t.Fatalf("got %v %v", ids(held), err)
	}
	f.Close() // as a crash leaves it: rows held in the file
	next := openTest(t, path, Config{})
	again, err := next.Batches().Receive(context.Background(), "stream", 10, time.Second)
	if err != nil || fmt.Sprint(ids(again)) != "[m000 m001 m002 m003]" || again[0].Receives != 2 {
		t.Fatalf("after the crash: %v %v", ids(again), err)
	}
}

// Receivers and subscriptions of one queue compete: each message is
// delivered to exactly one of them.
func TestBatchesCompete(t *testing.T) {
	b := NewBroker(Config{})
	defer b.Close()
	const n = 2000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.Batches()
			defer r.Close()
			for ctx.Err() == nil {
				got, err := r.Receive(ctx, "stream", 7, 20*time.Millisecond)
				if err != nil {
					return
				}
				mu.Lock()
				for _, m := range got {
					seen[m.ID]++
				}
				mu.Unlock()
				r.Ack(ctx, "stream", got)
			}
		}()
	}
	sub := b.Subscriber()
	defer sub.Close()
	msgs, err := sub.Subscribe(ctx, "stream")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for m := range msgs {
			mu.Lock()
			seen[m.UUID]++
			mu.Unlock()
			m.Ack()
		}
	}()
	for i := 0; i < n; i += 100 {
		var batch []*message.Message
		for j := i; j < i+100; j++ {
			batch = append(batch, message.NewMessage(fmt.Sprintf("m%d", j), []byte("x")))
		}
		if err := b.Publisher().Publish("stream", batch...); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		got := len(seen)
		mu.Unlock()
		if got == n && storedCount(t, b, "stream") == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d delivered", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s delivered %d times", id, c)
		}
	}
}
