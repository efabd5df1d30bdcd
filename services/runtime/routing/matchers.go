package routing

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/netip"
	"strings"
)

// matcher is one entry of a field's value list.
type matcher interface {
	// matchLeaves reports whether the field, with these leaf values (none
	// when the field is absent), satisfies the matcher.
	matchLeaves(leaves []any) bool
}

// valueMatcher matches a single present leaf value.
type valueMatcher func(v any) bool

func (m valueMatcher) matchLeaves(leaves []any) bool {
	for _, v := range leaves {
		if m(v) {
			return true
		}
	}
	return false
}

type existsMatcher bool

func (m existsMatcher) matchLeaves(leaves []any) bool { return (len(leaves) > 0) == bool(m) }

func compileMatcher(item any, path string) (matcher, error) {
	switch t := item.(type) {
	case nil:
		return valueMatcher(func(v any) bool { return v == nil }), nil
	case bool:
		return valueMatcher(func(v any) bool { b, ok := v.(bool); return ok && b == t }), nil
	case string:
		return valueMatcher(func(v any) bool { s, ok := v.(string); return ok && s == t }), nil
	case json.Number:
		n, err := number(t, path)
		if err != nil {
			return nil, err
		}
		return valueMatcher(func(v any) bool { x, ok := numeric(v); return ok && x.Cmp(n) == 0 }), nil
	case map[string]any:
		if len(t) != 1 {
			return nil, fmt.Errorf("%s: a matcher object must have exactly one operator, got %d", path, len(t))
		}
		for op, arg := range t {
			return compileOperator(op, arg, path)
		}
	}
	return nil, fmt.Errorf("%s: unsupported match value %s", path, describe(item))
}

func compileOperator(op string, arg any, path string) (matcher, error) {
	p := path + "." + op
	switch op {
	case "exists":
		b, ok := arg.(bool)
		if !ok {
			return nil, fmt.Errorf("%s: exists takes true or false", p)
		}
		return existsMatcher(b), nil
	case "prefix", "suffix", "equals-ignore-case", "wildcard":
		f, err := stringTest(op, arg, p)
		if err != nil {
			return nil, err
		}
		return valueMatcher(func(v any) bool { s, ok := v.(string); return ok && f(s) }), nil
	case "anything-but":
		return compileAnythingBut(arg, p)
	case "numeric":
		return compileNumeric(arg, p)
	case "cidr":
		s, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("%s: cidr takes a string", p)
		}
		prefix, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p, err)
		}
		return valueMatcher(func(v any) bool {
			s, ok := v.(string)
			if !ok {
				return false
			}
			addr, err := netip.ParseAddr(s)
			return err == nil && prefix.Contains(addr)
		}), nil
	}
	return nil, fmt.Errorf("%s: unknown operator %q", path, op)
}

// stringTest compiles prefix/suffix/equals-ignore-case/wildcard. prefix and
// suffix also accept {"equals-ignore-case": "..."} as their argument.
func stringTest(op string, arg any, path string) (func(string) bool, error) {
	if op == "prefix" || op == "suffix" {
		if m, ok := arg.(map[string]any); ok {
			s, ok := m["equals-ignore-case"].(string)
			if len(m) != 1 || !ok {
				return nil, fmt.Errorf("%s: takes a string or {\"equals-ignore-case\": string}", path)
			}
			s = strings.ToLower(s)
			if op == "prefix" {
				return func(v string) bool { return strings.HasPrefix(strings.ToLower(v), s) }, nil
			}
			return func(v string) bool { return strings.HasSuffix(strings.ToLower(v), s) }, nil
		}
	}
	s, ok := arg.(string)
	if !ok {
		return nil, fmt.Errorf("%s: takes a string", path)
	}
	switch op {
	case "prefix":
		return func(v string) bool { return strings.HasPrefix(v, s) }, nil
	case "suffix":
		return func(v string) bool { return strings.HasSuffix(v, s) }, nil
	case "equals-ignore-case":
		return func(v string) bool { return strings.EqualFold(v, s) }, nil
	default: // wildcard
		if strings.Contains(s, "**") {
			return nil, fmt.Errorf("%s: consecutive wildcard characters are not allowed", path)
		}
		return func(v string) bool { return wildcardMatch(s, v) }, nil
	}
}

// wildcardMatch matches * as any run of characters; \* is a literal star
// and \\ a literal backslash.
func wildcardMatch(pattern, s string) bool {
	type tok struct {
		lit  string
		star bool
	}
	var toks []tok
	var cur strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern) && (pattern[i+1] == '*' || pattern[i+1] == '\\'):
			cur.WriteByte(pattern[i+1])
			i++
		case c == '*':
			toks = append(toks, tok{lit: cur.String()}, tok{star: true})
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	toks = append(toks, tok{lit: cur.String()})
	// Greedy-with-backtracking glob over literal segments.
	pos := 0
	for i, t := range toks {
		if t.star {
			continue
		}
		if i == 0 {
			if !strings.HasPrefix(s, t.lit) {
				return false
			}
			pos = len(t.lit)
			continue
		}
		if i == len(toks)-1 {
			return len(s)-pos >= len(t.lit) && strings.HasSuffix(s, t.lit)
		}
		j := strings.Index(s[pos:], t.lit)
		if j < 0 {
			return false
		}
		pos += j + len(t.lit)
	}
	return pos == len(s)
}

func compileAnythingBut(arg any, path string) (matcher, error) {
	var excluded []func(any) bool
	add := func(item any) error {
		switch t := item.(type) {
		case string:
			excluded = append(excluded, func(v any) bool { s, ok := v.(string); return ok && s == t })
		case json.Number:
			n, err := number(t, path)
			if err != nil {
				return err
			}
			excluded = append(excluded, func(v any) bool { x, ok := numeric(v); return ok && x.Cmp(n) == 0 })
		default:
			return fmt.Errorf("%s: anything-but lists strings or numbers, got %s", path, describe(item))
		}
		return nil
	}
	switch t := arg.(type) {
	case []any:
		if len(t) == 0 {
			return nil, fmt.Errorf("%s: empty arrays are not allowed", path)
		}
		for _, item := range t {
			if err := add(item); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		if len(t) != 1 {
			return nil, fmt.Errorf("%s: takes one of prefix, suffix, equals-ignore-case, wildcard", path)
		}
		for op, inner := range t {
			if op != "prefix" && op != "suffix" && op != "equals-ignore-case" && op != "wildcard" {
				return nil, fmt.Errorf("%s: %q cannot be negated", path, op)
			}
			args := []any{inner}
			if list, ok := inner.([]any); ok && op != "prefix" && op != "suffix" {
				args = list
			}
			for _, a := range args {
				f, err := stringTest(op, a, path+"."+op)
				if err != nil {
					return nil, err
				}
				excluded = append(excluded, func(v any) bool { s, ok := v.(string); return ok && f(s) })
			}
		}
	default:
		if err := add(arg); err != nil {
			return nil, err
		}
	}
	return valueMatcher(func(v any) bool {
		for _, ex := range excluded {
			if ex(v) {
				return false
			}
		}
		return true
	}), nil
}

type bound struct {
	op string
	n  *big.Float
}

func compileNumeric(arg any, path string) (matcher, error) {
	list, ok := arg.([]any)
	if !ok || len(list) == 0 || len(list)%2 != 0 || len(list) > 4 {
		return nil, fmt.Errorf("%s: takes [op, number] or [op, number, op, number]", path)
	}
	var bounds []bound
	lower, upper, eq := 0, 0, 0
	for i := 0; i < len(list); i += 2 {
		op, ok := list[i].(string)
		num, ok2 := list[i+1].(json.Number)
		if !ok || !ok2 {
			return nil, fmt.Errorf("%s: takes [op, number] pairs", path)
		}
		switch op {
		case ">", ">=":
			lower++
		case "<", "<=":
			upper++
		case "=":
			eq++
		default:
			return nil, fmt.Errorf("%s: unknown numeric operator %q", path, op)
		}
		n, err := number(num, path)
		if err != nil {
			return nil, err
		}
		bounds = append(bounds, bound{op, n})
	}
	if lower > 1 || upper > 1 || (eq > 0 && len(bounds) > 1) {
		return nil, fmt.Errorf("%s: at most one lower and one upper bound, or a single =", path)
	}
	return valueMatcher(func(v any) bool {
		x, ok := numeric(v)
		if !ok {
			return false
		}
		for _, b := range bounds {
			c := x.Cmp(b.n)
			switch b.op {
			case ">":
				ok = c > 0
			case ">=":
				ok = c >= 0
			case "<":
				ok = c < 0
			case "<=":
				ok = c <= 0
			case "=":
				ok = c == 0
			}
			if !ok {
				return false
			}
		}
		return true
	}), nil
}

func number(n json.Number, path string) (*big.Float, error) {
	f, _, err := big.ParseFloat(string(n), 10, 128, big.ToNearestEven)
	if err != nil {
		return nil, fmt.Errorf("%s: bad number %s", path, n)
	}
	return f, nil
}

func numeric(v any) (*big.Float, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, false
	}
	f, _, err := big.ParseFloat(string(n), 10, 128, big.ToNearestEven)
	return f, err == nil
}
