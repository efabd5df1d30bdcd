package platform

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/fusiondata/fusion/services/runtime/metastore"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"github.com/fusiondata/fusion/services/runtime/transport/sqsq"
)

// DeadLetters returns every worker's dead-letter queues on this tier: the
// SQS dead-letter queues on AWS, the home's on the embedded tier.
func (p *Platform) DeadLetters() transport.DeadLetterQueues {
	if p.aws != nil {
		queues := append(slices.Clone(pipeline.Workers), routing.LedgerQueue, routing.StreamQueue)
		return sqsq.NewDeadLetters(p.aws.SQS, p.Config.QueuePrefix, queues)
	}
	return &homeDeadLetters{p: p, store: p.meta.DeadLetters()}
}

// homeDeadLetters are the embedded tier's dead letters, kept in the home's
// metastore. A redriven letter goes through the inbox, so that `fusion run`
// — another process, which owns the queues — puts it back on its queue.
type homeDeadLetters struct {
	p     *Platform
	store *metastore.DeadLetters
}

func (d *homeDeadLetters) List(ctx context.Context) ([]transport.DeadLetter, error) {
	return d.store.List(ctx)
}

func (d *homeDeadLetters) Redrive(ctx context.Context, letters []transport.DeadLetter) error {
	for _, l := range letters {
		if err := d.p.submitMessage(l); err != nil {
			return err
		}
		if err := d.store.Remove(ctx, []transport.DeadLetter{l}); err != nil {
			return err
		}
	}
	return nil
}

// queuedMessage is an inbox entry for one queue (a redriven dead letter),
// beside the inbox's events for the bus.
type queuedMessage struct {
	Queue    string            `json:"queue"`
	ID       string            `json:"id"`
	Payload  []byte            `json:"payload"`
	Metadata map[string]string `json:"metadata"`
}

const queuedSuffix = ".msg"

func (p *Platform) submitMessage(l transport.DeadLetter) error {
	id, payload, md := l.Redriven()
	body, err := json.Marshal(queuedMessage{Queue: l.Queue, ID: id, Payload: payload, Metadata: md})
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s-%s%s", time.Now().UTC().Format("20060102T150405.000000000"), id, queuedSuffix)
	return p.writeInbox(name, body)
}

// publishQueued puts an inbox entry back on its queue and removes it.
func (p *Platform) publishQueued(path string) error {
	body, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var q queuedMessage
	if err := json.Unmarshal(body, &q); err != nil || q.Queue == "" {
		p.Log.Error("inbox: not a queued message; removed", "file", filepath.Base(path), "error", err)
		return os.Remove(path)
	}
	msg := message.NewMessage(q.ID, q.Payload)
	for k, v := range q.Metadata {
		msg.Metadata.Set(k, v)
	}
	if err := p.broker.Publisher().Publish(q.Queue, msg); err != nil {
		return err
	}
	p.Log.Info("redriven", "queue", q.Queue, "message_id", q.ID, "run_id", q.Metadata[transport.MetaRunID])
	return os.Remove(path)
}
