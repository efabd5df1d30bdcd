package messages

import (
	"encoding/json"
	"errors"
)

// ClaimCheck stands in for a detail too large for the bus. The full detail
// is stored in the lake; the event keeps its detail-type and the run and
// pipeline, so routing still works, and carries a pointer to the rest.
type ClaimCheck struct {
	RunRef
	Claim ObjectRef `json:"claim_check"`
}

// NewClaimCheck replaces an envelope's detail with a pointer to where the
// detail is stored.
func NewClaimCheck(env Envelope, stored ObjectRef) (Envelope, error) {
	var ref RunRef
	if err := json.Unmarshal(env.Detail, &ref); err != nil {
		return Envelope{}, err
	}
	body, err := json.Marshal(ClaimCheck{RunRef: ref, Claim: stored})
	if err != nil {
		return Envelope{}, err
	}
	env.Detail = body
	return env, nil
}

// ClaimOf returns the pointer of a claim-checked envelope.
func ClaimOf(env Envelope) (ObjectRef, bool) {
	var c struct {
		Claim *ObjectRef `json:"claim_check"`
	}
	if json.Unmarshal(env.Detail, &c) != nil || c.Claim == nil {
		return ObjectRef{}, false
	}
	return *c.Claim, true
}

// ErrTooLarge marks an event over the size a transport accepts. It is
// permanent.
var ErrTooLarge = errors.New("event too large")
