package platform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fusiondata/fusion/messages"
)

// InboxDir is the embedded tier's event inbox in the home. Another process
// (the fusion command) cannot reach the in-process bus of `fusion run`, so
// it drops the event there as a file, and the process running ingest
// publishes it: EventBridge's PutEvents across processes, as the landing
// watcher stands in for S3's notifications.
const InboxDir = "inbox"

// Submit publishes an event from outside the workers, such as an ingest
// request: onto the event bus on the aws tier, into the home's inbox on the
// embedded tier. The event is written whole (a temporary file renamed into
// place), so the watcher never reads half of one.
func (p *Platform) Submit(ctx context.Context, env messages.Envelope) error {
	if p.local == nil {
		return p.Transport.Bus.Publish(ctx, env)
	}
	body, err := env.Marshal()
	if err != nil {
		return err
	}
	// Named by time then id, so events are published in the order submitted.
	return p.writeInbox(fmt.Sprintf("%s-%s.json", time.Now().UTC().Format("20060102T150405.000000000"), env.ID), body)
}

// writeInbox writes an inbox entry whole (a temporary file renamed into
// place), so the watcher never reads half of one.
func (p *Platform) writeInbox(name string, body []byte) error {
	dir := filepath.Join(p.Config.Home, InboxDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".submit-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}

// watchInbox publishes the events submitted to the inbox, oldest first,
// and removes each once it is on the bus. An event published twice (a crash
// between publishing and removing) is the same event: consumers are
// idempotent and a request's run derives from the event.
func (p *Platform) watchInbox(ctx context.Context) {
	dir := filepath.Join(p.Config.Home, InboxDir)
	tick := time.NewTicker(p.Config.LandingPoll)
	defer tick.Stop()
	for {
		entries, _ := os.ReadDir(dir) // none yet: nothing submitted
		var names []string
		for _, e := range entries {
			if !e.IsDir() && (strings.HasSuffix(e.Name(), ".json") || strings.HasSuffix(e.Name(), queuedSuffix)) && !strings.HasPrefix(e.Name(), ".") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			publish := p.publishSubmitted
			if strings.HasSuffix(n, queuedSuffix) {
				publish = func(_ context.Context, path string) error { return p.publishQueued(path) }
			}
			if err := publish(ctx, filepath.Join(dir, n)); err != nil {
				p.Log.Error("inbox: publish", "file", n, "error", err)
				break // keep the order: retry at the next poll
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (p *Platform) publishSubmitted(ctx context.Context, path string) error {
	body, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	env, err := messages.Parse(body)
	if err != nil {
		p.Log.Error("inbox: not an event; removed", "file", filepath.Base(path), "error", err)
		return os.Remove(path)
	}
	if err := p.Transport.Bus.Publish(ctx, env); err != nil {
		return err
	}
	p.Log.Info("submitted", "detail_type", env.DetailType, "event_id", env.ID)
	return os.Remove(path)
}
