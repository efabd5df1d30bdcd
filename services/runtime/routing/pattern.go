// Package routing decides which worker queue receives which event. Rules are
// data: EventBridge event patterns with a target queue. The embedded bus
// evaluates them in process with Pattern; the AWS tier renders the same
// rules into AWS::Events::Rule resources, so both tiers route alike.
package routing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Pattern is a compiled EventBridge event pattern. It supports exact values
// (strings, numbers, booleans, null), prefix, suffix, equals-ignore-case,
// wildcard, anything-but (values, prefix, suffix, equals-ignore-case,
// wildcard), numeric ranges, exists, cidr and $or, with EventBridge's
// semantics: fields are ANDed, the values listed for a field are ORed, and
// an array in the event matches when any of its elements does.
type Pattern struct {
	raw  json.RawMessage
	root *objectPattern
}

type objectPattern struct {
	fields []fieldPattern
	ors    [][]*objectPattern // each $or: alternatives, one must match
}

type fieldPattern struct {
	name     string
	object   *objectPattern // nested pattern, or
	matchers []matcher      // leaf matchers (ORed)
}

// Compile parses and validates a pattern. Errors name the offending path.
func Compile(raw []byte) (*Pattern, error) {
	v, err := decode(raw)
	if err != nil {
		return nil, fmt.Errorf("event pattern is not JSON: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("event pattern must be a JSON object")
	}
	if len(obj) == 0 {
		return nil, fmt.Errorf("event pattern is empty")
	}
	root, err := compileObject(obj, "")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return &Pattern{raw: buf.Bytes(), root: root}, nil
}

// MustCompile is Compile for patterns written in code.
func MustCompile(raw string) *Pattern {
	p, err := Compile([]byte(raw))
	if err != nil {
		panic(err)
	}
	return p
}

// JSON returns the pattern as compact JSON, as rendered into EventBridge.
func (p *Pattern) JSON() json.RawMessage { return p.raw }

// MatchJSON reports whether an event (a JSON document) matches.
func (p *Pattern) MatchJSON(event []byte) (bool, error) {
	v, err := decode(event)
	if err != nil {
		return false, err
	}
	return p.Match(v), nil
}

// Match reports whether a decoded event matches. The event must come from
// a decoder with UseNumber (see Decode) so numbers keep their precision.
func (p *Pattern) Match(event any) bool {
	obj, ok := event.(map[string]any)
	return ok && p.root.match(obj)
}

// Decode parses an event for Match, keeping numbers as json.Number.
func Decode(event []byte) (any, error) { return decode(event) }

func decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

func compileObject(obj map[string]any, path string) (*objectPattern, error) {
	out := &objectPattern{}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := obj[k]
		p := join(path, k)
		if k == "$or" {
			alts, ok := v.([]any)
			if !ok || len(alts) < 2 {
				return nil, fmt.Errorf("%s: $or needs an array of at least two patterns", p)
			}
			var group []*objectPattern
			for i, a := range alts {
				ao, ok := a.(map[string]any)
				if !ok || len(ao) == 0 {
					return nil, fmt.Errorf("%s[%d]: each $or alternative must be a non-empty object", p, i)
				}
				c, err := compileObject(ao, path)
				if err != nil {
					return nil, err
				}
				group = append(group, c)
			}
			out.ors = append(out.ors, group)
			continue
		}
		switch t := v.(type) {
		case map[string]any:
			if len(t) == 0 {
				return nil, fmt.Errorf("%s: empty object", p)
			}
			nested, err := compileObject(t, p)
			if err != nil {
				return nil, err
			}
			out.fields = append(out.fields, fieldPattern{name: k, object: nested})
		case []any:
			if len(t) == 0 {
				return nil, fmt.Errorf("%s: empty arrays are not allowed", p)
			}
			ms := make([]matcher, 0, len(t))
			for _, item := range t {
				m, err := compileMatcher(item, p)
				if err != nil {
					return nil, err
				}
				ms = append(ms, m)
			}
			out.fields = append(out.fields, fieldPattern{name: k, matchers: ms})
		default:
			return nil, fmt.Errorf("%s: match values must be in an array, got %s", p, describe(v))
		}
	}
	return out, nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func (o *objectPattern) match(obj map[string]any) bool {
	for _, f := range o.fields {
		if !f.match(obj) {
			return false
		}
	}
	for _, group := range o.ors {
		matched := false
		for _, alt := range group {
			if alt.match(obj) {
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	return true
}

func (f fieldPattern) match(obj map[string]any) bool {
	v, present := obj[f.name]
	if f.object != nil {
		// A nested pattern matches an object, or any object in an array.
		for _, o := range objects(v, present) {
			if f.object.match(o) {
				return true
			}
		}
		// With exists:false everywhere below, an absent object still matches.
		return !present && f.object.match(map[string]any{})
	}
	leaves := leafValues(v, present)
	for _, m := range f.matchers {
		if m.matchLeaves(leaves) {
			return true
		}
	}
	return false
}

func objects(v any, present bool) []map[string]any {
	if !present {
		return nil
	}
	switch t := v.(type) {
	case map[string]any:
		return []map[string]any{t}
	case []any:
		var out []map[string]any
		for _, e := range t {
			out = append(out, objects(e, true)...)
		}
		return out
	}
	return nil
}

// leafValues flattens an event value into the scalars a matcher compares:
// arrays contribute each element, objects contribute nothing.
func leafValues(v any, present bool) []any {
	if !present {
		return nil
	}
	switch t := v.(type) {
	case []any:
		var out []any
		for _, e := range t {
			out = append(out, leafValues(e, true)...)
		}
		return out
	case map[string]any:
		return nil
	}
	return []any{v}
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}
