package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/ledger"
)

// TestHostileFilesLandedAtOnce lands bad files and one good file for the
// same pipeline at the same time: each bad file is quarantined with an
// error record naming the problem and shows its error in `fusion runs`;
// the good file's rows are loaded exactly once.
func TestHostileFilesLandedAtOnce(t *testing.T) {
	p := embedded(t, map[string]string{"small.yaml": smallPipeline})
	header := "id,amount\n"
	bad := map[string]struct{ content, want string }{
		"ragged.csv":    {header + "1,2\n2\n", "ragged.csv:3: row has 1 fields, the header has 2"},
		"quote.csv":     {header + "1,\"2\n2,3\n", "quote.csv:2: quoted field starting on this line is never closed"},
		"latin1.csv":    {"id,amount\n1,2\n2,3\xe9\n", "latin1.csv:3: amount: invalid UTF-8"},
		"empty.csv":     {"", "empty.csv: the file is empty"},
		"header.csv":    {header, "header.csv: the file has no data rows"},
		"oneline.csv":   {strings.Repeat("x", 3<<20), "oneline.csv:1: the line is longer than 2 MiB without a line break"},
		"added.csv":     {"id,amount,extra\n1,2,3\n", `added.csv:1: header: 3 columns, the schema declares 2 (unexpected extra)`},
		"removed.csv":   {"id\n1\n", "removed.csv:1: header: 1 columns, the schema declares 2 (missing amount)"},
		"renamed.csv":   {"id,total\n1,2\n", `renamed.csv:1: header: column 2 is "total", the schema expects "amount"`},
		"typedrift.csv": {header + "1,2\n2,lots\n", `typedrift.csv:3: amount: "lots" is not a valid DOUBLE`},
	}
	ctx := context.Background()
	put := func(name, content string) string {
		key := "landing/small/" + name
		if _, err := p.Lake.Put(ctx, key, strings.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		return key
	}
	for name, c := range bad {
		put(name, c.content)
	}
	// The good file starts with a byte-order mark, which is not part of "id".
	good := put("good.csv", "\xef\xbb\xbfid,amount\n1,2.5\n2,\n3,4\n")

	wait := func(key string) ledger.Run {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		r, err := waitForRun(wctx, p.Ledger, key, &bytes.Buffer{})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		return r
	}
	if r := wait(good); r.Status != ledger.Succeeded {
		t.Fatalf("good file: %+v", r)
	}
	root := p.LocalLake().Root()
	for name, c := range bad {
		r := wait("landing/small/" + name)
		if r.Status != ledger.Failed || len(r.Steps) == 0 || r.Steps[0].Error == nil {
			t.Errorf("%s: run %+v", name, r)
			continue
		}
		q := fmt.Sprintf("quarantine/small/%s/%s", r.ID, name)
		var rec struct{ Error, Original string }
		b, err := os.ReadFile(filepath.Join(root, q+".error.json"))
		if err == nil {
			err = json.Unmarshal(b, &rec)
		}
		if err != nil || !strings.Contains(rec.Error, c.want) || rec.Original != "landing/small/"+name {
			t.Errorf("%s: error record %+v (%v), want %q", name, rec, err, c.want)
		}
		if body, err := os.ReadFile(filepath.Join(root, q)); err != nil || string(body) != c.content {
			t.Errorf("%s: quarantined copy differs (%v)", name, err)
		}
		code, out, _ := fusion(t, "runs", "--home", p.Config.Home, r.ID)
		if code != 0 || !strings.Contains(out, "ingest failed: landing/small/"+c.want) || !strings.Contains(out, "quarantined at "+q) {
			t.Errorf("%s: fusion runs %s:\n%s", name, r.ID, out)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(root, "landing/small/*")); len(left) != 0 {
		t.Errorf("left in landing: %v", left)
	}
	if got := query(t, p.Config.Home, "SELECT id, doubled FROM small ORDER BY id"); fmt.Sprint(got) != "[[1 5] [2 ] [3 8]]" {
		t.Errorf("small = %v", got)
	}
	if got := query(t, p.Config.Home, "SELECT count(*), sum(rows) FROM _fusion_loads"); fmt.Sprint(got) != "[[1 3]]" {
		t.Errorf("loads = %v", got)
	}
}

// TestSQLColumnNamesAndDriftWithoutASchema: a pipeline without a declared
// schema loads a CSV header that is SQL as a column name; a later file
// with a new column evolves the table, one whose column changed type is
// refused at the load and quarantined.
func TestSQLColumnNamesAndDriftWithoutASchema(t *testing.T) {
	p := embedded(t, map[string]string{"open.yaml": `name: open
source: {prefix: landing/open/, format: csv}
transform: {sql: "SELECT * FROM input"}
load: [{dataset: curated, table: open, mode: append}]
`})
	const hostile = `"x"; DROP TABLE t; --"`
	if r := land(t, p, "landing/open/1.csv", "id,\"\"\"x\"\"; DROP TABLE t; --\"\"\"\n1,a\n"); r.Status != ledger.Succeeded {
		t.Fatalf("hostile header: %+v", r)
	}
	if r := land(t, p, "landing/open/2.csv", "id,\"\"\"x\"\"; DROP TABLE t; --\"\"\",note\n2,b,new\n"); r.Status != ledger.Succeeded {
		t.Fatalf("added column: %+v", r)
	}
	r := land(t, p, "landing/open/3.csv", "id,note\nthree,c\n")
	if r.Status != ledger.Failed {
		t.Fatalf("changed type: %+v", r)
	}
	var se *messages.StepError
	for _, s := range r.Steps {
		if s.Error != nil {
			se = s.Error
		}
	}
	if se == nil || !strings.Contains(se.Message, "column id is BIGINT in") || !strings.Contains(se.Message, "VARCHAR in the data") || se.Quarantine == "" {
		t.Fatalf("changed type: %+v", se)
	}
	if _, err := os.Stat(filepath.Join(p.LocalLake().Root(), se.Quarantine+".error.json")); err != nil {
		t.Errorf("no error record: %v", err)
	}
	col := strings.ReplaceAll(hostile, `"`, `""`)
	if got := query(t, p.Config.Home, `SELECT id, "`+col+`", note FROM open ORDER BY id`); fmt.Sprint(got) != "[[1 a ] [2 b new]]" {
		t.Errorf("open = %v", got)
	}
}
