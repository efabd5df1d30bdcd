package inproc

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
)

// BenchmarkPublishReceiveAck measures a message's round trip, published
// one at a time and consumed by four competing subscriptions, in memory
// and on a file.
func BenchmarkPublishReceiveAck(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchRoundTrip(b, NewBroker(Config{})) })
	b.Run("durable", func(b *testing.B) {
		broker, err := Open(filepath.Join(b.TempDir(), "queue.db"), Config{})
		if err != nil {
			b.Fatal(err)
		}
		benchRoundTrip(b, broker)
	})
}

func benchRoundTrip(b *testing.B, broker *Broker) {
	defer broker.Close()
	sub, pub := broker.Subscriber(), broker.Publisher()
	defer sub.Close()
	done := make(chan struct{}, 64)
	for i := 0; i < 4; i++ {
		ch, err := sub.Subscribe(context.Background(), "q")
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			for m := range ch {
				m.Ack()
				done <- struct{}{}
			}
		}()
	}
	payload := make([]byte, 512)
	b.ResetTimer()
	go func() {
		for i := 0; i < b.N; i++ {
			if err := pub.Publish("q", message.NewMessage(strconv.Itoa(i), payload)); err != nil {
				panic(err)
			}
		}
	}()
	for i := 0; i < b.N; i++ {
		<-done
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
