package messages

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Envelope is the EventBridge event envelope. Field names and JSON shape
// follow https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html.
type Envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account,omitempty"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region,omitempty"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// MaxEventBytes is EventBridge's limit on one event entry (256 KiB).
const MaxEventBytes = 256 * 1024

// ErrMalformed marks an event body that is not a valid envelope. It is a
// permanent error: retrying the same bytes cannot succeed.
var ErrMalformed = errors.New("malformed event")

// New wraps a detail in an envelope. The id is deterministic when the
// detail is a fusion contract (see EventID), so a handler that runs twice
// publishes the same event twice and consumers can deduplicate by id.
func New(detail Detail, at time.Time) (Envelope, error) {
	c, ok := contractOf(detail)
	if !ok {
		return Envelope{}, fmt.Errorf("messages: %T is not a registered contract", detail)
	}
	body, err := json.Marshal(detail)
	if err != nil {
		return Envelope{}, fmt.Errorf("messages: encode %s: %w", c.DetailType, err)
	}
	return Envelope{
		Version:    "0",
		ID:         EventID(c.DetailType, detail.IdentityKey()),
		DetailType: c.DetailType,
		Source:     c.Source,
		Time:       at.UTC().Truncate(time.Second),
		Resources:  []string{},
		Detail:     body,
	}, nil
}

// Parse decodes an envelope from a message body and checks the fields every
// consumer relies on.
func Parse(body []byte) (Envelope, error) {
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Envelope{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var missing []string
	if env.ID == "" {
		missing = append(missing, "id")
	}
	if env.DetailType == "" {
		missing = append(missing, "detail-type")
	}
	if env.Source == "" {
		missing = append(missing, "source")
	}
	if len(env.Detail) == 0 || env.Detail[0] != '{' {
		missing = append(missing, "detail (an object)")
	}
	if len(missing) > 0 {
		return Envelope{}, fmt.Errorf("%w: missing %v", ErrMalformed, missing)
	}
	return env, nil
}

// Marshal encodes the envelope as the message body.
func (e Envelope) Marshal() ([]byte, error) { return json.Marshal(e) }
