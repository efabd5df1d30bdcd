package platform

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/config"
)

// TestInboxPublishesSubmittedEvents: an event submitted by another process
// reaches the bus once, in order, and leaves the inbox.
func TestInboxPublishesSubmittedEvents(t *testing.T) {
	home := t.TempDir()
	dir := filepath.Join(home, "pipelines")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "orders.yaml"), []byte("name: orders\nsource: {postgres: {connection: crm, table: orders}}\ntransform: {sql: SELECT 1}\n"), 0o644)
	submitter, err := Open(config.Config{Home: home, LandingPoll: 20 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range []string{"a", "b"} {
		env, _ := messages.New(&messages.IngestRequested{Pipeline: "orders", RequestID: r}, time.Now())
		if err := submitter.Submit(context.Background(), env); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, env.ID)
	}
	submitter.Close()
	os.WriteFile(filepath.Join(home, InboxDir, "junk.json"), []byte("not an event"), 0o644)

	p, err := Open(config.Config{Home: home, LandingPoll: 20 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := p.Broker().Subscriber()
	defer sub.Close()
	msgs, _ := sub.Subscribe(ctx, "ingest")
	go p.watchInbox(ctx)
	for _, want := range ids {
		select {
		case m := <-msgs:
			m.Ack()
			env, err := messages.Parse(m.Payload)
			if err != nil || env.ID != want || env.DetailType != messages.TypeIngestRequested {
				t.Fatalf("got %s %s, want %s", env.ID, env.DetailType, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("submitted event not published")
		}
	}
	select {
	case m := <-msgs:
		t.Fatalf("published again: %s", m.Payload)
	case <-time.After(200 * time.Millisecond):
	}
	if left, _ := os.ReadDir(filepath.Join(home, InboxDir)); len(left) != 0 {
		t.Errorf("inbox not emptied: %v", left)
	}
}
