package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const streaming = `name: clicks
source:
  format: jsonl
stream:
  max_records: 500
  max_bytes: 256KiB
  max_wait: 750ms
transform:
  sql: SELECT * FROM input
load:
  - {dataset: curated, table: clicks, keys: [record_id]}
`

func TestStreamSettings(t *testing.T) {
	p, err := Parse("clicks.yaml", []byte(streaming))
	if err != nil {
		t.Fatal(err)
	}
	b, ok := p.Batching()
	if !ok || b.MaxRecords != 500 || b.MaxBytes != 256<<10 || b.MaxWait != 750*time.Millisecond ||
		b.IDField != "record_id" || b.IDType != "" || !b.DerivesIDs() || b.Prefix != "landing/clicks/stream/" {
		t.Errorf("batching %+v %v", b, ok)
	}
	// Micro-batches are landed files of the pipeline: they start its runs.
	if !p.OwnsKey(b.Prefix+"20261121T151600.000Z-0a1b2c.jsonl") || p.Steps()[0].Consumes != "Object Created" {
		t.Errorf("micro-batches do not start runs: %+v", p.Steps()[0])
	}

	p, err = Parse("clicks.yaml", []byte(strings.Replace(streaming, "  max_records: 500\n  max_bytes: 256KiB\n  max_wait: 750ms\n", "  {}\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := p.Batching(); b.MaxRecords != DefaultStreamRecords || b.MaxBytes != DefaultStreamBytes || b.MaxWait != DefaultStreamWait {
		t.Errorf("defaults %+v", b)
	}
	if _, ok := mustParse(t, minimal).Batching(); ok {
		t.Error("a pipeline without a stream block streams")
	}

	// A declared id column of another type than VARCHAR: records must carry their own.
	typed := strings.Replace(streaming, "  format: jsonl\n", "  format: jsonl\n  schema: [{name: click_id, type: BIGINT}, {name: page, type: VARCHAR}]\n", 1)
	typed = strings.Replace(typed, "  max_wait: 750ms\n", "  max_wait: 750ms\n  id_field: click_id\n", 1)
	p, err = Parse("clicks.yaml", []byte(typed))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := p.Batching(); b.IDField != "click_id" || b.IDType != "BIGINT" || b.DerivesIDs() {
		t.Errorf("typed id %+v", b)
	}
}

func mustParse(t *testing.T, y string) *Pipeline {
	t.Helper()
	p, err := Parse("orders.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Stream problems name the file, line and field.
func TestStreamErrors(t *testing.T) {
	for name, c := range map[string]struct{ edit, want string }{
		"csv":           {"  format: jsonl\n|  format: csv\n", "clicks.yaml:4: stream: micro-batches are JSON lines: source.format must be jsonl"},
		"snapshot":      {"  format: jsonl\n|  format: jsonl\n  prefix: incoming/clicks/\n", "clicks.yaml:5: stream: micro-batches land under source.prefix, which must be under landing/"},
		"records":       {"max_records: 500|max_records: -1", "clicks.yaml:5: stream.max_records: must be between 1 and 1000000"},
		"bytes unit":    {"max_bytes: 256KiB|max_bytes: 2 parsecs", `clicks.yaml:6: stream.max_bytes: "2 parsecs": unknown unit "parsecs"`},
		"bytes small":   {"max_bytes: 256KiB|max_bytes: 100", "clicks.yaml:6: stream.max_bytes: must be between 1KiB and 256MiB (got 100)"},
		"bytes text":    {"max_bytes: 256KiB|max_bytes: lots", `clicks.yaml:6: stream.max_bytes: "lots" is not a size`},
		"wait":          {"max_wait: 750ms|max_wait: soon", `clicks.yaml:7: stream.max_wait: must be a duration between 10ms and 15m0s, such as 500ms or 2s (got "soon")`},
		"wait long":     {"max_wait: 750ms|max_wait: 1h", `clicks.yaml:7: stream.max_wait: must be a duration between`},
		"unknown":       {"max_wait: 750ms|max_wait: 750ms\n  colour: red", `clicks.yaml:8: unknown field "colour" in stream`},
		"id undeclared": {"  format: jsonl\n|  format: jsonl\n  schema: [{name: page, type: VARCHAR}]\n", `clicks.yaml:5: stream.id_field: "record_id" is not a column of source.schema`},
		"id quotes":     {"max_wait: 750ms|max_wait: 750ms\n  id_field: 'a\"b'", `clicks.yaml:8: stream.id_field: must be a column name`},
	} {
		from, to, _ := strings.Cut(c.edit, "|")
		if !strings.Contains(streaming, from) {
			t.Fatalf("%s: %q not in the pipeline", name, from)
		}
		_, err := Parse("clicks.yaml", []byte(strings.Replace(streaming, from, to, 1)))
		var pe *Error
		if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v\nwant %s", name, err, c.want)
		}
	}
	pg := "name: orders\nsource:\n  postgres: {connection: crm, table: orders}\nstream: {}\ntransform: {sql: SELECT 1}\n"
	if _, err := Parse("orders.yaml", []byte(pg)); err == nil || !strings.Contains(err.Error(), "orders.yaml:4: stream: only a pipeline of landed files streams") {
		t.Errorf("postgres source: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "1MiB": 1 << 20, "1mib": 1 << 20, "2MB": 2_000_000, "512 KiB": 512 << 10, "64kb": 64_000, "1GiB": 1 << 30, "10B": 10} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1.5MiB", "MiB", "1 TB", "99999999999999999999"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
