package model

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// lgbText is a LightGBM text model split into its "key=value" sections:
// the header and one section per "Tree=N" block, up to "end of trees".
type lgbText struct {
	header lgbSection
	trees  []lgbSection
}

// lgbSection holds one section's fields and the line each came from, so
// errors point into the file.
type lgbSection struct {
	line   int // the section's first line
	fields map[string]string
	lines  map[string]int
}

func parseLightGBMText(body []byte) (*lgbText, error) {
	t := &lgbText{header: newSection(1)}
	cur := &t.header
	ended := false
	for n, raw := range bytes.Split(body, []byte("\n")) {
		line := strings.TrimSpace(string(raw))
		lineNo := n + 1
		switch {
		case line == "end of trees":
			ended = true
		case strings.HasPrefix(line, "Tree="):
			if want := fmt.Sprintf("Tree=%d", len(t.trees)); line != want {
				return nil, fmt.Errorf("line %d: %q, want %q", lineNo, line, want)
			}
			t.trees = append(t.trees, newSection(lineNo))
			cur = &t.trees[len(t.trees)-1]
		default:
			k, v, _ := strings.Cut(line, "=")
			if k == "" {
				continue
			}
			// A key alone is a flag (average_output); "tree" names the model.
			if _, dup := cur.fields[k]; dup {
				return nil, fmt.Errorf("line %d: %s is repeated (first on line %d)", lineNo, k, cur.lines[k])
			}
			cur.fields[k], cur.lines[k] = v, lineNo
		}
		if ended {
			break
		}
	}
	if !ended {
		return nil, fmt.Errorf("no \"end of trees\"")
	}
	if len(t.trees) == 0 {
		return nil, fmt.Errorf("no trees")
	}
	return t, nil
}

func newSection(line int) lgbSection {
	return lgbSection{line: line, fields: map[string]string{}, lines: map[string]int{}}
}

func (s lgbSection) errorf(key, format string, args ...any) error {
	line := s.line
	if l, ok := s.lines[key]; ok {
		line = l
	}
	return fmt.Errorf("line %d: %s: %s", line, key, fmt.Sprintf(format, args...))
}

func (s lgbSection) str(key string) (string, error) {
	v, ok := s.fields[key]
	if !ok {
		return "", s.errorf(key, "missing")
	}
	return v, nil
}

func (s lgbSection) int(key string) (int, error) {
	v, err := s.str(key)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, s.errorf(key, "not an integer: %q", v)
	}
	return n, nil
}

// floats reads a space-separated list of want numbers (strconv reads
// LightGBM's %.17g exactly, inf and nan included).
func (s lgbSection) floats(key string, want int) ([]float64, error) {
	return lgbList(s, key, want, "a number", func(p string) (float64, error) { return strconv.ParseFloat(p, 64) })
}

// ints reads a space-separated list of want 32-bit integers.
func (s lgbSection) ints(key string, want int) ([]int, error) {
	return lgbList(s, key, want, "an integer", func(p string) (int, error) {
		n, err := strconv.ParseInt(p, 10, 32)
		return int(n), err
	})
}

// lgbList reads a space-separated list of want values with parse, naming
// the key and the value's place when one is bad.
func lgbList[T any](s lgbSection, key string, want int, what string, parse func(string) (T, error)) ([]T, error) {
	v, err := s.str(key)
	if err != nil {
		return nil, err
	}
	parts := strings.Fields(v)
	if len(parts) != want {
		return nil, s.errorf(key, "%d values, want %d", len(parts), want)
	}
	out := make([]T, want)
	for i, p := range parts {
		if out[i], err = parse(p); err != nil {
			return nil, s.errorf(key, "value %d: not %s: %q", i, what, p)
		}
	}
	return out, nil
}
