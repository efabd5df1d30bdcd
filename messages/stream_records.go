package messages

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// StreamRecords carries small JSON records of a streaming pipeline (one
// with a stream block) to the ingest worker's micro-batcher, which gathers
// them into micro-batches: one JSON-lines object per batch under
// <source.prefix>stream/, which then runs like any landed file. The ingest
// worker's HTTP endpoint (POST /v1/streams/{pipeline}/records) publishes
// it; any producer may put it on the bus itself.
//
// Each record is a JSON object of at most MaxStreamRecordBytes (compact);
// the records of one event take at most MaxStreamRecordsBytes, so the
// event stays within MaxEventBytes (EventBridge's and SQS's limit) with
// room for the envelope. SplitStreamRecords cuts a larger set into events.
// Records are kept compact: decoding removes insignificant whitespace.
type StreamRecords struct {
	TraceContext
	Pipeline string `json:"pipeline"`
	// RequestID names what sent the records (an HTTP request and the
	// chunk of it), for logs; optional.
	RequestID string            `json:"request_id,omitempty"`
	Records   []json.RawMessage `json:"records"`
}

const (
	TypeStreamRecords = "fusion.stream.records.v1"
	// SourceStream is the source of stream records.
	SourceStream = "fusion.stream"
	// MaxStreamRecordBytes bounds one record, compact.
	MaxStreamRecordBytes = 64 * 1024
	// MaxStreamRecordsBytes bounds the records of one event: their
	// compact bytes plus a comma between each two.
	MaxStreamRecordsBytes = 192 * 1024
)

func init() { register[StreamRecords](TypeStreamRecords, SourceStream) }

// IdentityKey is the pipeline and a digest of the records: the same
// records sent twice are the same event.
func (d *StreamRecords) IdentityKey() string {
	h := sha256.New()
	for _, r := range d.Records {
		h.Write(r)
		h.Write([]byte{'\n'})
	}
	return d.Pipeline + "/" + hex.EncodeToString(h.Sum(nil)[:16])
}

// UnmarshalJSON decodes strictly (unknown fields are errors, as for every
// fusion contract) and keeps each record compact, so that a record's bytes
// do not depend on how the event was indented on the way.
func (d *StreamRecords) UnmarshalJSON(b []byte) error {
	type plain StreamRecords
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	for i, r := range p.Records {
		var buf bytes.Buffer
		if err := json.Compact(&buf, r); err != nil {
			return fmt.Errorf("records[%d]: %w", i, err)
		}
		p.Records[i] = buf.Bytes()
	}
	*d = StreamRecords(p)
	return nil
}

// Validate checks the pipeline name, the request id and every record.
func (d *StreamRecords) Validate() error {
	var errs []error
	if !ValidName(d.Pipeline) {
		errs = append(errs, fmt.Errorf("pipeline %q is not a valid name", d.Pipeline))
	}
	errs = append(errs, checkRequestID(d.RequestID)...)
	if len(d.Records) == 0 {
		errs = append(errs, errors.New("records is empty"))
	}
	total := 0
	for i, r := range d.Records {
		if err := ValidStreamRecord(r); err != nil {
			errs = append(errs, fmt.Errorf("records[%d]: %w", i, err))
		}
		total += len(r) + 1
	}
	if total-1 > MaxStreamRecordsBytes {
		errs = append(errs, fmt.Errorf("records take %d bytes; an event carries at most %d (split them: SplitStreamRecords)", total-1, MaxStreamRecordsBytes))
	}
	return errors.Join(errs...)
}

// ValidStreamRecord checks that a compact record is one JSON object within
// MaxStreamRecordBytes.
func ValidStreamRecord(r json.RawMessage) error {
	if len(r) > MaxStreamRecordBytes {
		return fmt.Errorf("the record is %d bytes; at most %d", len(r), MaxStreamRecordBytes)
	}
	if len(r) == 0 || r[0] != '{' || !json.Valid(r) {
		return errors.New("not a JSON object")
	}
	return nil
}

// SplitStreamRecords cuts compact, valid records into the record lists of
// as few events as keep each within MaxStreamRecordsBytes, in order.
func SplitStreamRecords(records []json.RawMessage) [][]json.RawMessage {
	var out [][]json.RawMessage
	start, size := 0, -1
	for i, r := range records {
		if i > start && size+1+len(r) > MaxStreamRecordsBytes {
			out = append(out, records[start:i:i])
			start, size = i, -1
		}
		size += 1 + len(r)
	}
	if start < len(records) {
		out = append(out, records[start:len(records):len(records)])
	}
	return out
}
