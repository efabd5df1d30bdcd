package messages

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
)

// Detail is the payload of one contract.
type Detail interface {
	// IdentityKey names the fact the event states (run, step, dataset...).
	// Two events with the same detail-type and identity are the same event.
	IdentityKey() string
}

// Contract describes one event type on the wire.
type Contract struct {
	DetailType string // stable wire name, version included
	Source     string // the producer, as EventBridge's source field
	new        func() Detail
	lenient    bool // accept unknown fields (contracts owned by AWS)
}

// ErrUnknownType marks an event whose detail-type (or version) no contract
// declares. It is permanent: redelivery cannot make it known.
var ErrUnknownType = errors.New("unknown event type")

var (
	byType = map[string]Contract{}
	byGo   = map[reflect.Type]Contract{}
)

// register declares a fusion contract; each contract file calls it from init.
func register[T any, PT interface {
	*T
	Detail
}](detailType, source string) {
	add(Contract{DetailType: detailType, Source: source, new: func() Detail { return PT(new(T)) }}, new(T), *new(T))
}

// registerLenient declares a contract another party owns and may extend.
func registerLenient[T any, PT interface {
	*T
	Detail
}](detailType, source string) {
	add(Contract{DetailType: detailType, Source: source, lenient: true, new: func() Detail { return PT(new(T)) }}, new(T), *new(T))
}

func add(c Contract, ptr, val any) {
	detailType := c.DetailType
	if _, dup := byType[detailType]; dup {
		panic("messages: duplicate contract " + detailType)
	}
	byType[detailType] = c
	byGo[reflect.TypeOf(ptr)] = c
	byGo[reflect.TypeOf(val)] = c
}

func contractOf(d Detail) (Contract, bool) {
	c, ok := byGo[reflect.TypeOf(d)]
	return c, ok
}

// Lookup returns the contract for a detail-type.
func Lookup(detailType string) (Contract, bool) {
	c, ok := byType[detailType]
	return c, ok
}

// Contracts lists every registered contract, sorted by detail-type.
func Contracts() []Contract {
	out := make([]Contract, 0, len(byType))
	for _, c := range byType {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DetailType < out[j].DetailType })
	return out
}

// Decode returns the typed detail of an envelope (a pointer to the
// contract's struct). Unknown fields are rejected so that a producer on a
// newer contract is noticed instead of silently misread.
func Decode(env Envelope) (Detail, error) {
	c, ok := byType[env.DetailType]
	if !ok {
		return nil, fmt.Errorf("%w %q from source %q", ErrUnknownType, env.DetailType, env.Source)
	}
	d := c.new()
	dec := json.NewDecoder(bytes.NewReader(env.Detail))
	if !c.lenient {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(d); err != nil {
		return nil, fmt.Errorf("%w: %s detail: %v", ErrMalformed, env.DetailType, err)
	}
	if v, ok := d.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %s detail: %v", ErrMalformed, env.DetailType, err)
		}
	}
	return d, nil
}
