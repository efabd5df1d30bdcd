package messages

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The same records are the same event however they were indented on the
// way; other records, or another pipeline's, are another event.
func TestStreamRecordsIdentityIgnoresWhitespace(t *testing.T) {
	compact := `{"pipeline":"clicks","records":[{"a":1,"b":"x"},{"a":2}]}`
	spaced := "{\"pipeline\": \"clicks\",\n \"records\": [ {\"a\": 1, \"b\": \"x\"},\n {\"a\" : 2} ] }"
	ids := map[string]string{}
	for name, body := range map[string]string{"compact": compact, "spaced": spaced,
		"other records":  `{"pipeline":"clicks","records":[{"a":1,"b":"x"}]}`,
		"other pipeline": `{"pipeline":"views","records":[{"a":1,"b":"x"},{"a":2}]}`} {
		d, err := Decode(Envelope{ID: "x", DetailType: TypeStreamRecords, Source: SourceStream, Time: at, Detail: []byte(body)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sr := d.(*StreamRecords)
		if name == "spaced" && string(sr.Records[0]) != `{"a":1,"b":"x"}` {
			t.Errorf("record kept its whitespace: %s", sr.Records[0])
		}
		env, err := New(sr, at)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = env.ID
	}
	if ids["compact"] != ids["spaced"] {
		t.Error("whitespace changed the event's identity")
	}
	if ids["other records"] == ids["compact"] || ids["other pipeline"] == ids["compact"] {
		t.Errorf("distinct events share an id: %v", ids)
	}
}

func TestStreamRecordsRejects(t *testing.T) {
	big := `{"k":"` + strings.Repeat("x", MaxStreamRecordBytes) + `"}`
	var many []string
	for i := 0; i < 4; i++ {
		many = append(many, `{"k":"`+strings.Repeat("y", 60*1024)+`"}`)
	}
	for name, c := range map[string]struct{ body, want string }{
		"no records":      {`{"pipeline":"clicks","records":[]}`, "records is empty"},
		"not an object":   {`{"pipeline":"clicks","records":[{"a":1},[1,2]]}`, "records[1]: not a JSON object"},
		"a string":        {`{"pipeline":"clicks","records":["x"]}`, "records[0]: not a JSON object"},
		"null":            {`{"pipeline":"clicks","records":[null]}`, "records[0]: not a JSON object"},
		"record too big":  {`{"pipeline":"clicks","records":[` + big + `]}`, "records[0]: the record is 65544 bytes; at most 65536"},
		"event too big":   {`{"pipeline":"clicks","records":[` + strings.Join(many, ",") + `]}`, "an event carries at most 196608"},
		"bad pipeline":    {`{"pipeline":"Clicks!","records":[{"a":1}]}`, "not a valid name"},
		"unknown field":   {`{"pipeline":"clicks","records":[{"a":1}],"colour":"red"}`, `unknown field "colour"`},
		"long request id": {`{"pipeline":"clicks","request_id":"` + strings.Repeat("r", 129) + `","records":[{"a":1}]}`, "request_id is longer"},
	} {
		_, err := Decode(Envelope{ID: "x", DetailType: TypeStreamRecords, Source: SourceStream, Time: at, Detail: []byte(c.body)})
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}
}

// SplitStreamRecords keeps the order, puts every record in exactly one
// event, and keeps each event's records within the limit, as full as the
// limit allows.
func TestSplitStreamRecords(t *testing.T) {
	var records []json.RawMessage
	for i := 0; i < 5000; i++ {
		records = append(records, json.RawMessage(fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, strings.Repeat("p", i%300))))
	}
	chunks := SplitStreamRecords(records)
	if len(chunks) < 2 {
		t.Fatalf("%d chunks", len(chunks))
	}
	next := 0
	for c, chunk := range chunks {
		size := -1
		for _, r := range chunk {
			if string(r) != string(records[next]) {
				t.Fatalf("chunk %d: record %s out of order (want %s)", c, r, records[next])
			}
			next++
			size += len(r) + 1
		}
		if size > MaxStreamRecordsBytes {
			t.Errorf("chunk %d takes %d bytes", c, size)
		}
		if c < len(chunks)-1 && size+1+len(chunks[c+1][0]) <= MaxStreamRecordsBytes {
			t.Errorf("chunk %d could have taken the next record", c)
		}
		d := &StreamRecords{Pipeline: "clicks", Records: chunk}
		env, err := New(d, at)
		if err != nil {
			t.Fatal(err)
		}
		if body, _ := env.Marshal(); len(body) > MaxEventBytes {
			t.Errorf("chunk %d makes a %d-byte event", c, len(body))
		}
		if err := d.Validate(); err != nil {
			t.Errorf("chunk %d: %v", c, err)
		}
	}
	if next != len(records) {
		t.Errorf("%d of %d records in chunks", next, len(records))
	}
	if got := SplitStreamRecords(nil); len(got) != 0 {
		t.Errorf("no records split into %d chunks", len(got))
	}
}
