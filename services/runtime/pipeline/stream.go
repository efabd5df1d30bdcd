package pipeline

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Stream makes a pipeline take small JSON records as they come — POSTed
// to the ingest worker or sent as fusion.stream.records.v1 events — rather
// than only whole files. The ingest worker gathers each pipeline's records
// into micro-batches, sealing one when it holds MaxRecords records, or
// MaxBytes bytes, or MaxWait after its first record, whichever comes
// first, and writes it as one JSON-lines object under
// <source.prefix>stream/, which then runs like any landed file.
//
// Delivery is at least once: after a crash a record can be sealed into a
// second micro-batch. Every record therefore carries an id (IDField), and
// a streaming pipeline loads with mode merge keyed by it, so the warehouse
// holds each record once.
//
// Only a pipeline of landed JSON-lines files (source.format jsonl, prefix
// under landing/) streams.
type Stream struct {
	// MaxRecords seals a micro-batch at this many records (default 1000).
	MaxRecords int `yaml:"max_records"`
	// MaxBytes seals it at this many bytes of JSON lines: a number of
	// bytes or a size such as 512KiB, 1MiB, 2MB (default 1MiB).
	MaxBytes string `yaml:"max_bytes"`
	// MaxWait seals it this long after its first record: a Go duration
	// such as 500ms or 2s (default 2s).
	MaxWait string `yaml:"max_wait"`
	// IDField names each record's unique id (default record_id). A record
	// without it gets the SHA-256 of its canonical JSON (hex), which needs
	// the field to be undeclared or VARCHAR in source.schema; a record
	// that has it keeps its own.
	IDField string `yaml:"id_field"`
}

// Defaults and bounds of a stream's batching.
const (
	DefaultStreamRecords = 1000
	DefaultStreamBytes   = 1 << 20
	DefaultStreamWait    = 2 * time.Second
	DefaultStreamIDField = "record_id"

	MaxStreamRecords = 1_000_000
	MinStreamBytes   = 1 << 10
	MaxStreamBytes   = 256 << 20
	MinStreamWait    = 10 * time.Millisecond
	MaxStreamWait    = 15 * time.Minute
)

// StreamPrefix is the folder of a pipeline's prefix its micro-batches land in.
const StreamPrefix = "stream/"

// Batching is a stream's settings, defaults applied.
type Batching struct {
	MaxRecords int
	MaxBytes   int64
	MaxWait    time.Duration
	IDField    string
	// IDType is the id field's declared type in source.schema, "" when
	// the schema does not declare it.
	IDType string
	// Prefix is where micro-batches land: <source.prefix>stream/.
	Prefix string
}

// DerivesIDs reports whether a record without its id field may get a
// derived one (a hex string): the field must hold text.
func (b Batching) DerivesIDs() bool { return b.IDType == "" || b.IDType == "VARCHAR" }

// Batching returns the pipeline's stream settings; ok is false when the
// pipeline does not stream. The pipeline must have passed validation.
func (p *Pipeline) Batching() (b Batching, ok bool) {
	s := p.Stream
	if s == nil {
		return Batching{}, false
	}
	b = Batching{MaxRecords: s.MaxRecords, IDField: s.IDField, Prefix: p.Source.Prefix + StreamPrefix}
	if b.MaxRecords == 0 {
		b.MaxRecords = DefaultStreamRecords
	}
	b.MaxBytes = DefaultStreamBytes
	if n, err := ParseSize(s.MaxBytes); err == nil && s.MaxBytes != "" {
		b.MaxBytes = n
	}
	b.MaxWait = DefaultStreamWait
	if d, err := time.ParseDuration(s.MaxWait); err == nil {
		b.MaxWait = d
	}
	if b.IDField == "" {
		b.IDField = DefaultStreamIDField
	}
	for _, c := range p.Source.Schema {
		if c.Name == b.IDField {
			b.IDType = c.Type
		}
	}
	return b, true
}

var sizeRE = regexp.MustCompile(`^(\d+)\s*([A-Za-z]*)$`)

var sizeUnits = map[string]int64{"": 1, "b": 1, "kb": 1000, "kib": 1 << 10, "mb": 1000 * 1000, "mib": 1 << 20, "gb": 1000 * 1000 * 1000, "gib": 1 << 30}

// ParseSize reads a size in bytes: a whole number, optionally followed by
// B, KB, KiB, MB, MiB, GB or GiB (any case).
func ParseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a size (use bytes or a unit: 512KiB, 1MiB, 2MB)", s)
	}
	unit, ok := sizeUnits[strings.ToLower(m[2])]
	if !ok {
		return 0, fmt.Errorf("%q: unknown unit %q (use B, KB, KiB, MB, MiB, GB or GiB)", s, m[2])
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n > (1<<62)/unit {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * unit, nil
}

// validateStream checks a stream block and that the pipeline can stream.
func (v *validator) validateStream(p *Pipeline) {
	s := p.Stream
	if s == nil {
		return
	}
	src := p.Source
	switch {
	case src.Postgres != nil:
		v.add("stream", "only a pipeline of landed files streams; this one copies a Postgres table")
	case !strings.HasPrefix(src.Prefix, "landing/"):
		v.add("stream", "micro-batches land under source.prefix, which must be under landing/ (got %q)", src.Prefix)
	case src.Format != "jsonl":
		v.add("stream", "micro-batches are JSON lines: source.format must be jsonl (got %q)", src.Format)
	}
	if s.MaxRecords < 0 || s.MaxRecords > MaxStreamRecords {
		v.add("stream.max_records", "must be between 1 and %d (got %d)", MaxStreamRecords, s.MaxRecords)
	}
	if s.MaxBytes != "" {
		n, err := ParseSize(s.MaxBytes)
		switch {
		case err != nil:
			v.add("stream.max_bytes", "%v", err)
		case n < MinStreamBytes || n > MaxStreamBytes:
			v.add("stream.max_bytes", "must be between 1KiB and 256MiB (got %s)", s.MaxBytes)
		}
	}
	if s.MaxWait != "" {
		d, err := time.ParseDuration(s.MaxWait)
		if err != nil || d < MinStreamWait || d > MaxStreamWait {
			v.add("stream.max_wait", "must be a duration between %v and %v, such as 500ms or 2s (got %q)", MinStreamWait, MaxStreamWait, s.MaxWait)
		}
	}
	id := s.IDField
	if id == "" {
		id = DefaultStreamIDField
	}
	if len(id) > 63 || strings.IndexFunc(id, func(r rune) bool { return unicode.IsControl(r) || r == '"' }) >= 0 {
		v.add("stream.id_field", "must be a column name of at most 63 characters without quotes or control characters (got %q)", s.IDField)
	}
	if len(src.Schema) > 0 {
		declared := false
		for _, c := range src.Schema {
			declared = declared || c.Name == id
		}
		if !declared {
			v.add("stream.id_field", "%q is not a column of source.schema: the id would not reach the warehouse, and records could load twice", id)
		}
	}
}
