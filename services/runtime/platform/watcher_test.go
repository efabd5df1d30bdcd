package platform

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/config"
)

func TestLandingWatcherAnnouncesEachFileOnce(t *testing.T) {
	p, err := Open(config.Config{Home: t.TempDir(), LandingPoll: 20 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.watchLanding(ctx)
	sub := p.Broker().Subscriber()
	defer sub.Close()
	msgs, _ := sub.Subscribe(ctx, "ingest")
	next := func() (*messages.ObjectCreated, bool) {
		select {
		case m := <-msgs:
			m.Ack()
			env, err := messages.Parse(m.Payload)
			if err != nil {
				t.Fatal(err)
			}
			d, err := messages.Decode(env)
			if err != nil {
				t.Fatal(err)
			}
			return d.(*messages.ObjectCreated), true
		case <-time.After(300 * time.Millisecond):
			return nil, false
		}
	}
	put := func(key, body string) {
		if _, err := p.Lake.Put(ctx, key, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	put("landing/churn/.hidden.csv", "x")
	put("landing/churn/partial.csv.tmp", "x")
	put("landing/churn/a.csv", "a,b\n1,2\n")
	oc, ok := next()
	if !ok || oc.Object.Key != "landing/churn/a.csv" || oc.Object.Size != 8 || oc.Bucket.Name != LakeBucket || oc.Object.Sequencer == "" {
		t.Fatalf("announced %+v", oc)
	}
	if extra, ok := next(); ok {
		t.Fatalf("announced again or a hidden file: %+v", extra)
	}
	// A new version of the same key is a new object.
	first := oc.Object.Sequencer
	time.Sleep(10 * time.Millisecond)
	put("landing/churn/a.csv", "a,b\n1,2\n3,4\n")
	oc, ok = next()
	if !ok || oc.Object.Size != 12 || oc.Object.Sequencer == first {
		t.Fatalf("new version announced as %+v", oc)
	}
}
