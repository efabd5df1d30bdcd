package stream

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// checker holds what a pipeline asks of each record: its id, its required
// columns, and values its declared column types can take.
type checker struct {
	b        pipeline.Batching
	declared map[string]pipeline.Column
}

// newChecker returns the pipeline's checker; false when it does not stream.
func newChecker(p *pipeline.Pipeline) (checker, bool) {
	b, ok := p.Batching()
	if !ok {
		return checker{}, false
	}
	c := checker{b: b, declared: map[string]pipeline.Column{}}
	for _, col := range p.Source.Schema {
		c.declared[col.Name] = col
	}
	return c, true
}

// prepared is a record ready for a micro-batch: its JSON line (the id
// field added when it was derived) and the id's JSON text, by which a
// batch keeps one record per id.
type prepared struct {
	line []byte
	id   string
}

// prepare checks a compact record and gives it its id. The error names
// the field at fault; the record is then refused.
func (c checker) prepare(rec json.RawMessage) (prepared, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(rec, &fields); err != nil {
		return prepared{}, fmt.Errorf("not a JSON object: %v", err)
	}
	for name, col := range c.declared {
		v, ok := fields[name]
		null := !ok || string(v) == "null"
		if null {
			if col.Required {
				return prepared{}, fmt.Errorf("%s: is required", name)
			}
			continue
		}
		if err := fits(v, col.Type); err != nil {
			return prepared{}, fmt.Errorf("%s: %v", name, err)
		}
	}
	if v, ok := fields[c.b.IDField]; ok && string(v) != "null" {
		if v[0] == '{' || v[0] == '[' {
			return prepared{}, fmt.Errorf("%s: the record's id must be a string or a number", c.b.IDField)
		}
		return prepared{line: rec, id: string(v)}, nil
	}
	if !c.b.DerivesIDs() {
		return prepared{}, fmt.Errorf("%s: is missing; it is the stream's id_field, declared %s, so every record carries its own", c.b.IDField, c.b.IDType)
	}
	id, err := derivedID(rec)
	if err != nil {
		return prepared{}, err
	}
	quoted := strconv.Quote(id)
	return prepared{line: withField(rec, c.b.IDField, quoted), id: quoted}, nil
}

// derivedID is the SHA-256 (hex) of a record's canonical JSON: object keys
// sorted, no insignificant whitespace, numbers as written, strings as
// encoding/json writes them without HTML escaping. The same record, however
// it was spaced or ordered, has the same id.
func derivedID(rec json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(rec))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // maps encode with sorted keys
		return "", err
	}
	sum := sha256.Sum256(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return hex.EncodeToString(sum[:]), nil
}

// withField adds "name": value first in a compact object.
func withField(rec json.RawMessage, name, value string) []byte {
	key, _ := json.Marshal(name)
	out := make([]byte, 0, len(rec)+len(key)+len(value)+2)
	out = append(out, '{')
	out = append(out, key...)
	out = append(out, ':')
	out = append(out, value...)
	if len(rec) > 2 {
		out = append(out, ',')
	}
	return append(out, rec[1:]...)
}

// integer ranges of the declared integer types.
var intBits = map[string]uint{"TINYINT": 8, "SMALLINT": 16, "INTEGER": 32, "BIGINT": 64}

// fits refuses the values a declared column plainly cannot take (text in a
// number, a number in a date, an object in a boolean); the typed read of
// the micro-batch checks the rest, as for any landed file.
func fits(v json.RawMessage, typ string) error {
	kind := v[0]
	structured := kind == '{' || kind == '['
	switch {
	case typ == "VARCHAR":
		return nil
	case typ == "BOOLEAN":
		if structured {
			return fmt.Errorf("%s is not a BOOLEAN", clip(v))
		}
	case typ == "DATE" || strings.HasPrefix(typ, "TIMESTAMP"):
		if kind != '"' {
			return fmt.Errorf("%s is not a %s (send it as text, e.g. \"2026-11-21\")", clip(v), typ)
		}
	default: // numbers
		text := string(v)
		if kind == '"' {
			var s string
			json.Unmarshal(v, &s)
			text = strings.TrimSpace(s)
		} else if structured {
			return fmt.Errorf("%s is not a valid %s", clip(v), typ)
		}
		if kind == 't' || kind == 'f' {
			return nil // true and false cast to 1 and 0
		}
		f, ok := new(big.Float).SetPrec(256).SetString(text)
		if !ok {
			return fmt.Errorf("%s is not a valid %s", clip(v), typ)
		}
		if bits, ok := intBits[typ]; ok && !fitsInt(f, bits) {
			return fmt.Errorf("%s does not fit %s", clip(v), typ)
		}
	}
	return nil
}

// fitsInt reports whether f, rounded half away from zero as DuckDB casts
// it, is a signed integer of bits bits.
func fitsInt(f *big.Float, bits uint) bool {
	half := big.NewFloat(0.5)
	if f.Sign() < 0 {
		half.Neg(half)
	}
	i, _ := new(big.Float).SetPrec(256).Add(f, half).Int(nil)
	limit := new(big.Int).Lsh(big.NewInt(1), bits-1)
	return i.Cmp(new(big.Int).Neg(limit)) >= 0 && i.Cmp(limit) < 0
}

func clip(v json.RawMessage) string {
	if len(v) > 40 {
		return string(v[:40]) + "…"
	}
	return string(v)
}
