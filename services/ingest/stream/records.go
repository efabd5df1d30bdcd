package stream

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/fusiondata/fusion/messages"
)

// RecordError is a record a request or an event cannot carry; Where names
// it: "records[3]" in a JSON array, "line 4" of JSON lines, "record" for
// a single object.
type RecordError struct {
	Where string
	Err   error
}

func (e *RecordError) Error() string { return e.Where + ": " + e.Err.Error() }

func (e *RecordError) Unwrap() error { return e.Err }

// Body formats of POST /v1/streams/{pipeline}/records.
const (
	FormatJSON  = "application/json"     // one object, or an array of objects
	FormatLines = "application/x-ndjson" // one object per line (JSON lines)
)

// ParseRecords reads a request body of the given format into compact
// records, each a JSON object of at most messages.MaxStreamRecordBytes,
// and names each as the body places it: "record" (a single object),
// "records[3]" (in an array), "line 4" (JSON lines). The first record that
// is not an object that fits names itself in a *RecordError; nothing of
// the body is kept then.
func ParseRecords(format string, body io.Reader) (records []json.RawMessage, names []string, err error) {
	if format == FormatLines {
		return parseLines(body)
	}
	return parseJSON(body)
}

func parseJSON(body io.Reader) ([]json.RawMessage, []string, error) {
	br := bufio.NewReader(body)
	first, err := firstByte(br)
	if err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(br)
	if first != '[' {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, &RecordError{Where: "record", Err: syntax(err)}
		}
		if err := trailing(dec); err != nil {
			return nil, nil, err
		}
		r, err := compact(raw)
		if err != nil {
			return nil, nil, &RecordError{Where: "record", Err: err}
		}
		return []json.RawMessage{r}, []string{"record"}, nil
	}
	if _, err := dec.Token(); err != nil { // [
		return nil, nil, &RecordError{Where: "records", Err: syntax(err)}
	}
	var out []json.RawMessage
	var names []string
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		where := fmt.Sprintf("records[%d]", i)
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, &RecordError{Where: where, Err: syntax(err)}
		}
		r, err := compact(raw)
		if err != nil {
			return nil, nil, &RecordError{Where: where, Err: err}
		}
		out = append(out, r)
		names = append(names, where)
	}
	if _, err := dec.Token(); err != nil { // ]
		return nil, nil, &RecordError{Where: "records", Err: syntax(err)}
	}
	if err := trailing(dec); err != nil {
		return nil, nil, err
	}
	return out, names, nil
}

func parseLines(body io.Reader) ([]json.RawMessage, []string, error) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64*1024), messages.MaxStreamRecordBytes+1)
	var out []json.RawMessage
	var names []string
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		where := fmt.Sprintf("line %d", line)
		if !json.Valid(b) {
			var v any
			return nil, nil, &RecordError{Where: where, Err: syntax(json.Unmarshal(b, &v))}
		}
		r, err := compact(b)
		if err != nil {
			return nil, nil, &RecordError{Where: where, Err: err}
		}
		out = append(out, r)
		names = append(names, where)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, nil, &RecordError{Where: fmt.Sprintf("line %d", line+1), Err: fmt.Errorf("the line is longer than %d bytes", messages.MaxStreamRecordBytes)}
		}
		return nil, nil, err
	}
	return out, names, nil
}

// compact returns a record's compact bytes, if it is an object that fits.
func compact(raw []byte) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, syntax(err)
	}
	r := json.RawMessage(buf.Bytes())
	if err := messages.ValidStreamRecord(r); err != nil {
		return nil, err
	}
	return r, nil
}

func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			return 0, &RecordError{Where: "body", Err: errors.New("no records")}
		}
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\t' && b != '\n' && b != '\r' {
			return b, br.UnreadByte()
		}
	}
}

// trailing refuses anything but whitespace after the body's JSON value.
func trailing(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return &RecordError{Where: "body", Err: errors.New("text after the JSON value (send one object, an array of objects, or application/x-ndjson)")}
	}
	return nil
}

// syntax makes encoding/json's errors read as a person's.
func syntax(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("not valid JSON: %v", se)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("not valid JSON: the body ends inside a value")
	}
	return err
}
