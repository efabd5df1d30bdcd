//go:build aws

package sqsq

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/fusiondata/fusion/services/runtime/awstest"
	"github.com/fusiondata/fusion/services/runtime/transport"
)

func heldIDs(msgs []transport.Held) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Payload))
	}
	sort.Strings(out)
	return out
}

// A batch receiver on moto: many messages per receive, held from every
// other consumer past their visibility timeout, acked in batches,
// released for another receiver, and given back at Close.
func TestBatchReceiverOnSQS(t *testing.T) {
	c := awstest.Clients(t)
	ctx := context.Background()
	queue := awstest.Name("stream")
	pub := NewPublisher(c.SQS, "", true)
	var msgs []*message.Message
	for i := 0; i < 25; i++ {
		m := message.NewMessage(fmt.Sprintf("m%02d", i), []byte(fmt.Sprintf("p%02d", i)))
		m.Metadata.Set("event_id", fmt.Sprintf("e%02d", i))
		msgs = append(msgs, m)
	}
	if err := pub.Publish(queue, msgs...); err != nil {
		t.Fatal(err)
	}
	r1, err := NewBatches(c.SQS, "", 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := NewBatches(c.SQS, "", 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()

	var first []transport.Held
	for len(first) < 25 {
		got, err := r1.Receive(ctx, queue, 25-len(first), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			t.Fatalf("only %d of 25 received", len(first))
		}
		first = append(first, got...)
	}
	if first[0].Receives != 1 || first[0].Metadata["event_id"] == "" || first[0].ID == "" {
		t.Errorf("message %+v", first[0])
	}
	// Held past twice the visibility timeout: nobody else sees them.
	time.Sleep(7 * time.Second)
	if got, err := r2.Receive(ctx, queue, 10, time.Second); err != nil || len(got) != 0 {
		t.Fatalf("held messages went to another receiver: %v %v", heldIDs(got), err)
	}
	// Ack 15, release 10: only the released return, to the other receiver.
	if err := r1.Ack(ctx, queue, first[:15]); err != nil {
		t.Fatal(err)
	}
	if err := r1.Release(ctx, queue, first[15:20]); err != nil {
		t.Fatal(err)
	}
	var back []transport.Held
	for i := 0; i < 10 && len(back) < 5; i++ {
		got, err := r2.Receive(ctx, queue, 10, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		back = append(back, got...)
	}
	if fmt.Sprint(heldIDs(back)) != fmt.Sprint(heldIDs(first[15:20])) || back[0].Receives != 2 {
		t.Fatalf("released %v, received again %v", heldIDs(first[15:20]), heldIDs(back))
	}
	if err := r2.Ack(ctx, queue, back); err != nil {
		t.Fatal(err)
	}
	// Close gives back the last five.
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	var rest []transport.Held
	for i := 0; i < 10 && len(rest) < 5; i++ {
		got, err := r2.Receive(ctx, queue, 10, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		rest = append(rest, got...)
	}
	if fmt.Sprint(heldIDs(rest)) != fmt.Sprint(heldIDs(first[20:])) {
		t.Fatalf("after close: %v, want %v", heldIDs(rest), heldIDs(first[20:]))
	}
	if err := r2.Ack(ctx, queue, rest); err != nil {
		t.Fatal(err)
	}
	if got, _ := r2.Receive(ctx, queue, 10, time.Second); len(got) != 0 {
		t.Errorf("acked messages came back: %v", heldIDs(got))
	}
}
