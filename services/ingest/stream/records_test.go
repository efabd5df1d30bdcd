package stream

import (
	"errors"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/messages"
)

func TestParseRecords(t *testing.T) {
	for name, c := range map[string]struct {
		format, body string
		want         string // records joined by |, names after =
	}{
		"one object":  {FormatJSON, ` { "a" : 1 , "b": [1, 2] } ` + "\n", `{"a":1,"b":[1,2]}=record`},
		"an array":    {FormatJSON, `[{"a":1}, {"a":2},{"a": 3}]`, `{"a":1}|{"a":2}|{"a":3}=records[0]|records[1]|records[2]`},
		"empty array": {FormatJSON, `[]`, `=`},
		"json lines":  {FormatLines, "{\"a\":1}\n\n  {\"a\": 2}  \r\n{\"a\":3}", `{"a":1}|{"a":2}|{"a":3}=line 1|line 3|line 4`},
	} {
		recs, names, err := ParseRecords(c.format, strings.NewReader(c.body))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var rs []string
		for _, r := range recs {
			rs = append(rs, string(r))
		}
		if got := strings.Join(rs, "|") + "=" + strings.Join(names, "|"); got != c.want {
			t.Errorf("%s: %s, want %s", name, got, c.want)
		}
	}
}

// A bad record names itself: its index in an array, its line in JSON lines.
func TestParseRecordsNamesTheBadRecord(t *testing.T) {
	big := `{"k":"` + strings.Repeat("x", messages.MaxStreamRecordBytes) + `"}`
	for name, c := range map[string]struct{ format, body, want string }{
		"not an object":  {FormatJSON, `[{"a":1}, 42, {"a":3}]`, "records[1]: not a JSON object"},
		"array in array": {FormatJSON, `[{"a":1}, [1]]`, "records[1]: not a JSON object"},
		"broken element": {FormatJSON, `[{"a":1}, {"a":}]`, "records[1]: not valid JSON"},
		"unclosed array": {FormatJSON, `[{"a":1}, {"a":2}`, "records: not valid JSON"},
		"a string":       {FormatJSON, `"hello"`, "record: not a JSON object"},
		"two objects":    {FormatJSON, `{"a":1} {"a":2}`, "body: text after the JSON value"},
		"empty":          {FormatJSON, "  \n", "body: no records"},
		"too big":        {FormatJSON, `[` + big + `]`, "records[0]: the record is 65544 bytes"},
		"bad line":       {FormatLines, "{\"a\":1}\n\n{\"a\":\n{\"a\":3}", "line 3: not valid JSON"},
		"line not obj":   {FormatLines, "{\"a\":1}\n[1,2]\n", "line 2: not a JSON object"},
		"line too long":  {FormatLines, "{\"a\":1}\n" + big + "\n", "line 2: the line is longer than 65536 bytes"},
	} {
		_, _, err := ParseRecords(c.format, strings.NewReader(c.body))
		var re *RecordError
		if !errors.As(err, &re) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
	}
}
