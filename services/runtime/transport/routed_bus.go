package transport

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/telemetry"
)

// RoutedBus is a Bus that evaluates the routing rules itself and publishes
// one message per matching rule to the rule's target queue, or to each
// queue subscribed to the rule's target topic: the embedded tier's
// EventBridge and SNS.
type RoutedBus struct {
	rules  func() (*routing.Table, error)
	queues message.Publisher
	topics map[string][]string
}

var _ Bus = (*RoutedBus)(nil)

// NewRoutedBus routes with the table rules returns (called per publish, so
// rules may change while running) onto the queues of pub.
func NewRoutedBus(rules func() (*routing.Table, error), pub message.Publisher) *RoutedBus {
	topics := map[string][]string{}
	for _, t := range routing.Topics() {
		topics[t.Name] = t.Queues
	}
	return &RoutedBus{rules: rules, queues: pub, topics: topics}
}

func (b *RoutedBus) Publish(ctx context.Context, events ...messages.Envelope) error {
	table, err := b.rules()
	if err != nil {
		return fmt.Errorf("bus: rules: %w", err)
	}
	for _, env := range events {
		if body, _ := env.Marshal(); len(body) > messages.MaxEventBytes {
			return fmt.Errorf("bus: %s event %s is %d bytes, over the %d byte limit", env.DetailType, env.ID, len(body), messages.MaxEventBytes)
		}
		matched, err := table.MatchEnvelope(env)
		if err != nil {
			return fmt.Errorf("bus: %w", err)
		}
		for _, r := range matched {
			queues := []string{r.Target}
			if r.IsTopic() {
				queues = b.topics[r.Target]
			}
			for _, q := range queues {
				msg, err := ToMessage(env, r.Name)
				if err != nil {
					return err
				}
				msg.SetContext(ctx)
				// The trace context rides in the metadata too, for
				// consumers of events whose detail carries none.
				telemetry.Propagator.Inject(ctx, telemetry.MetadataCarrier(msg.Metadata))
				if err := b.queues.Publish(q, msg); err != nil {
					return fmt.Errorf("bus: deliver %s to %s: %w", env.DetailType, q, err)
				}
			}
		}
	}
	return nil
}
