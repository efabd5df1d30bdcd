package ledger

import (
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/fusiondata/fusion/messages"
)

// Consumer builds the ledger from step events delivered to its queue.
// plan describes a pipeline (the zero Plan if unknown).
func Consumer(l Ledger, plan func(pipeline string) Plan) func(*message.Message) error {
	return func(msg *message.Message) error {
		env, err := messages.Parse(msg.Payload)
		if err != nil {
			return nil // not a step event; nothing to record, nothing to retry
		}
		status := messages.Status(env.DetailType)
		if status == "" {
			return nil
		}
		d, err := messages.Decode(env)
		if err != nil {
			return nil
		}
		var ev messages.StepEvent
		switch s := d.(type) {
		case *messages.StepStarted:
			ev = s.StepEvent
		case *messages.StepSucceeded:
			ev = s.StepEvent
		case *messages.StepFailed:
			ev = s.StepEvent
		}
		var pl Plan
		if ev.Pipeline != "" {
			pl = plan(ev.Pipeline)
		}
		if err := l.Record(msg.Context(), status, ev, pl); err != nil {
			return fmt.Errorf("ledger: record %s of %s: %w", status, ev.RunID, err) // redelivered
		}
		return nil
	}
}
