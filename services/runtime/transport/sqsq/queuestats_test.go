//go:build aws

package sqsq

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/fusiondata/fusion/services/runtime/awstest"
	"github.com/fusiondata/fusion/services/runtime/transport"
)

// TestQueueStatsAreReadAtMostEveryInterval reads a queue's and its
// dead-letter queue's depth from SQS, answers from the last reading until
// the interval has passed, and leaves out a queue that does not exist.
func TestQueueStatsAreReadAtMostEveryInterval(t *testing.T) {
	c := awstest.Clients(t)
	ctx := context.Background()
	prefix := awstest.Name("stats") + "-"
	pub := NewPublisher(c.SQS, prefix, true)
	send := func(queue string, n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			if err := pub.Publish(queue, message.NewMessage(queue, []byte("x"))); err != nil {
				t.Fatal(err)
			}
		}
	}
	send("transform", 2)
	send("transform-dlq", 1)
	if _, err := pub.urls.get(ctx, "loader", true); err != nil { // a queue without a dead-letter queue
		t.Fatal(err)
	}

	clock := time.Now()
	stats := NewQueueStats(c.SQS, prefix, 30*time.Second)
	stats.now = func() time.Time { return clock }
	read := func() map[string]transport.QueueStat {
		t.Helper()
		got, err := stats.QueueStats(ctx, []string{"transform", "loader", "ingest"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]transport.QueueStat{}
		for _, s := range got {
			out[s.Queue] = s
		}
		return out
	}
	got := read()
	if len(got) != 2 || got["transform"].Waiting != 2 || got["transform"].DeadLetters != 1 || got["loader"].Waiting != 0 || got["loader"].DeadLetters != 0 || got["transform"].OldestKnown {
		t.Fatalf("first reading %+v", got)
	}
	send("transform-dlq", 1)
	clock = clock.Add(29 * time.Second)
	if got := read(); got["transform"].DeadLetters != 1 {
		t.Errorf("read again within the interval: %+v", got["transform"])
	}
	clock = clock.Add(2 * time.Second)
	if got := read(); got["transform"].DeadLetters != 2 || got["transform"].Waiting != 2 {
		t.Errorf("after the interval: %+v", got["transform"])
	}
}
