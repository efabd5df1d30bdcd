package stream

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

func streamPipeline(t *testing.T, schema, idField string) *pipeline.Pipeline {
	t.Helper()
	y := "name: clicks\nsource:\n  format: jsonl\n"
	if schema != "" {
		y += "  schema: " + schema + "\n"
	}
	y += "stream: {max_records: 10, max_wait: 50ms"
	if idField != "" {
		y += ", id_field: " + idField
	}
	y += "}\ntransform: {sql: SELECT * FROM input}\n"
	p, err := pipeline.Parse("clicks.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A record without its id gets the SHA-256 of its canonical JSON, the same
// however its keys are ordered or spaced; a record with one keeps it.
func TestDerivedIDs(t *testing.T) {
	c, _ := newChecker(streamPipeline(t, "", ""))
	a, err := c.prepare(json.RawMessage(`{"page":"/a","n":1.50,"tags":["x","<y>"],"user":{"id":7,"name":"é"}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.prepare(compactOf(t, `{ "user": {"name": "\u00e9", "id": 7}, "tags": ["x", "\u003cy\u003e"], "n": 1.50, "page": "/a" }`))
	if err != nil {
		t.Fatal(err)
	}
	canonical := `{"n":1.50,"page":"/a","tags":["x","<y>"],"user":{"id":7,"name":"é"}}`
	sum := sha256.Sum256([]byte(canonical))
	want := `"` + hex.EncodeToString(sum[:]) + `"`
	if a.id != want || b.id != want {
		t.Errorf("ids %s and %s, want %s (sha-256 of %s)", a.id, b.id, want, canonical)
	}
	if !strings.HasPrefix(string(a.line), `{"record_id":`+want+`,"page":"/a",`) || !json.Valid(a.line) {
		t.Errorf("line %s", a.line)
	}
	other, _ := c.prepare(json.RawMessage(`{"page":"/a","n":1.5}`))
	if other.id == a.id {
		t.Error("two records share an id")
	}
	own, err := c.prepare(json.RawMessage(`{"record_id":"r-1","page":"/b"}`))
	if err != nil || own.id != `"r-1"` || string(own.line) != `{"record_id":"r-1","page":"/b"}` {
		t.Errorf("own id: %+v %v", own, err)
	}
	empty, err := c.prepare(json.RawMessage(`{}`))
	if err != nil || !json.Valid(empty.line) || !strings.HasPrefix(string(empty.line), `{"record_id":"`) {
		t.Errorf("empty record: %s %v", empty.line, err)
	}
}

func compactOf(t *testing.T, s string) json.RawMessage {
	t.Helper()
	recs, _, err := ParseRecords(FormatJSON, strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return recs[0]
}

// Records are checked against the declared schema: required columns, the
// id a typed id column needs, and values a column plainly cannot take.
func TestRecordChecks(t *testing.T) {
	c, _ := newChecker(streamPipeline(t, "[{name: customer_id, type: BIGINT, required: true}, {name: fee, type: DOUBLE}, {name: n, type: SMALLINT}, "+
		"{name: day, type: DATE}, {name: ok, type: BOOLEAN}, {name: note, type: VARCHAR}]", "customer_id"))
	for _, good := range []string{
		`{"customer_id":1}`,
		`{"customer_id":"2","fee":"9.99","n":-32768,"day":"2026-11-21","ok":true,"note":{"any":"thing"}}`,
		`{"customer_id":3,"fee":1e3,"n":32767.4,"ok":"yes","extra":[1,2]}`,
		`{"customer_id":4,"fee":null,"day":null,"n":true}`,
	} {
		if _, err := c.prepare(json.RawMessage(good)); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
	for bad, want := range map[string]string{
		`{"fee":1}`:                           "customer_id: is required",
		`{"customer_id":null}`:                "customer_id: is required",
		`{"customer_id":"abc"}`:               `customer_id: "abc" is not a valid BIGINT`,
		`{"customer_id":[1]}`:                 "customer_id: [1] is not a valid BIGINT",
		`{"customer_id":1,"fee":"lots"}`:      `fee: "lots" is not a valid DOUBLE`,
		`{"customer_id":1,"n":32768}`:         "n: 32768 does not fit SMALLINT",
		`{"customer_id":1,"n":-32768.6}`:      "n: -32768.6 does not fit SMALLINT",
		`{"customer_id":1,"day":20261121}`:    "day: 20261121 is not a DATE",
		`{"customer_id":1,"ok":{"v":true}}`:   `ok: {"v":true} is not a BOOLEAN`,
		`{"customer_id":9223372036854775808}`: "customer_id: 9223372036854775808 does not fit BIGINT",
	} {
		_, err := c.prepare(json.RawMessage(bad))
		if err == nil || err.Error() != want && !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: got %v, want %s", bad, err, want)
		}
	}
	// A typed id column cannot take a derived (hex) id.
	typed, _ := newChecker(streamPipeline(t, "[{name: click_id, type: BIGINT}, {name: page, type: VARCHAR}]", "click_id"))
	if _, err := typed.prepare(json.RawMessage(`{"page":"/a"}`)); err == nil || !strings.Contains(err.Error(), "click_id: is missing; it is the stream's id_field, declared BIGINT") {
		t.Errorf("missing typed id: %v", err)
	}
	if _, err := typed.prepare(json.RawMessage(`{"click_id":{"a":1}}`)); err == nil {
		t.Error("an object id was accepted")
	}
}
