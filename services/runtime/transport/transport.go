// Package transport moves events between workers. Publishers put events on
// a Bus, whose rules decide which worker queues receive them; each worker
// consumes its own queue through a watermill Subscriber. The embedded tier
// routes in process over in-memory queues; the AWS tier puts events on
// EventBridge, whose rules deliver them to SQS queues.
package transport

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/fusiondata/fusion/messages"
)

// Bus publishes events.
//
// Rules: Publish returns nil only once every event was accepted, and then
// each event reaches every queue whose rule matches it at least once (it
// may arrive more than once). An event no rule matches is dropped, as on
// EventBridge. Publishers never name queues.
type Bus interface {
	Publish(ctx context.Context, events ...messages.Envelope) error
}

// Metadata keys set on every queued message. SQS allows ten message
// attributes, so the set stays small.
const (
	MetaEventID    = "event_id"
	MetaDetailType = "detail_type"
	MetaRunID      = "run_id"
	MetaRule       = "rule"
	// The W3C trace context of the publisher (see telemetry.MetadataCarrier).
	MetaTraceparent = "traceparent"
	MetaTracestate  = "tracestate"
)

// ToMessage wraps an envelope for a queue: the body is the envelope JSON,
// exactly what EventBridge delivers to an SQS target.
func ToMessage(env messages.Envelope, rule string) (*message.Message, error) {
	body, err := env.Marshal()
	if err != nil {
		return nil, fmt.Errorf("transport: encode %s: %w", env.DetailType, err)
	}
	msg := message.NewMessage(env.ID, body)
	msg.Metadata.Set(MetaEventID, env.ID)
	msg.Metadata.Set(MetaDetailType, env.DetailType)
	msg.Metadata.Set(MetaRule, rule)
	return msg, nil
}
