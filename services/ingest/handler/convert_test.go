package handler

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

var schema = []pipeline.Column{
	{Name: "id", Type: "BIGINT", Required: true},
	{Name: "name", Type: "VARCHAR"},
	{Name: "score", Type: "DOUBLE"},
	{Name: "joined", Type: "DATE"},
}

func run(t *testing.T, content string, src pipeline.Source) (converted, *problem) {
	t.Helper()
	dir := t.TempDir()
	e, err := engine.Open(engine.Config{TempDir: dir, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	conn, err := e.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if src.Format == "" {
		src.Format = "csv"
	}
	if src.Format == "csv" && src.Delimiter == "" {
		src.Delimiter = ","
	}
	res, p, err := convert(context.Background(), conn, in, src, filepath.Join(dir, "out.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	return res, p
}

func TestGoodCSV(t *testing.T) {
	res, p := run(t, "\xef\xbb\xbfid,name,score,joined\r\n1,\"Smith, Ann\",0.5,2024-01-02\r\n2,Bo,,2024-02-03\r\n", pipeline.Source{Schema: schema})
	if p != nil {
		t.Fatalf("problem: %+v", p)
	}
	if res.Rows != 2 || res.Schema[0].Name != "id" || res.Schema[2].Type != "DOUBLE" {
		t.Errorf("%+v", res)
	}
}

// A byte-order mark is not part of the first column's name.
func TestBOMIsNotPartOfTheFirstName(t *testing.T) {
	for name, src := range map[string]pipeline.Source{"declared": {Schema: schema[:2]}, "inferred": {}} {
		res, p := run(t, "\xef\xbb\xbfid,name\n1,a\n", src)
		if p != nil || res.Rows != 1 || res.Schema[0].Name != "id" {
			t.Errorf("%s: %+v %+v", name, res, p)
		}
	}
}

// A 100 MB file without a line break fails at once with the line named,
// within bounded memory.
func TestHugeSingleLineIsRefusedInBoundedMemory(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	chunk := []byte(strings.Repeat("abcdefg,", 1<<17)) // 1 MiB
	for i := 0; i < 100; i++ {
		f.Write(chunk)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	e, err := engine.Open(engine.Config{TempDir: dir, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	conn, err := e.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, src := range []pipeline.Source{{Format: "csv", Delimiter: ","}, {Format: "csv", Delimiter: ",", Schema: schema}, {Format: "jsonl"}} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		resetPeakRSS()
		rss := rssKB("VmRSS")
		_, p, err := convert(context.Background(), conn, in, src, filepath.Join(dir, "out.parquet"))
		runtime.ReadMemStats(&after)
		if err != nil || p == nil || p.Line != 1 || !strings.Contains(p.Err.Error(), "MiB without a line break") {
			t.Errorf("%s: got %+v, %v", src.Format, p, err)
		}
		// Go's allocations stay near the line limit, not the file's size.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
			t.Errorf("%s: %d MiB allocated for a 100 MiB line", src.Format, alloc>>20)
		}
		if peak := rssKB("VmHWM"); rss > 0 && peak-rss > 64<<10 {
			t.Errorf("%s: peak RSS grew by %d MiB", src.Format, (peak-rss)>>10)
		}
	}
}

// resetPeakRSS resets VmHWM (Linux); elsewhere rssKB reports 0.
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func rssKB(field string) int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func TestInferredCSV(t *testing.T) {
	res, p := run(t, "a;b;c\n1;x;2024-01-01\n2;y;2024-01-02\n", pipeline.Source{Delimiter: ";"})
	if p != nil {
		t.Fatalf("problem: %+v", p)
	}
	if res.Rows != 2 || res.Schema[0].Type != "BIGINT" || res.Schema[1].Type != "VARCHAR" || res.Schema[2].Type != "DATE" {
		t.Errorf("%+v", res.Schema)
	}
}

func TestBadCSV(t *testing.T) {
	cases := []struct {
		name    string
		content string
		line    int64
		field   string
		msg     string
		infer   bool
	}{
		{"empty", "", 0, "", "the file is empty", false},
		{"header only", "id,name,score,joined\n", 0, "", "no data rows", false},
		{"ragged", "id,name,score,joined\n1,a,0.5,2024-01-01\n2,b,0.5\n3,c,1,2024-01-01\n", 3, "", "row has 3 fields, the header has 4", false},
		{"ragged inferred", "a,b,c\n1,2,3\n4,5\n6,7,8\n", 3, "", "row has 2 fields, the header has 3", true},
		{"broken quote", "id,name,score,joined\n1,\"unclosed,0.5,2024-01-01\n2,b,0.5,2024-01-01\n", 2, "", "never closed", false},
		{"bad type", "id,name,score,joined\n1,a,0.5,2024-01-01\n2,b,lots,2024-01-01\n", 3, "score", `"lots" is not a valid DOUBLE`, false},
		{"bad date", "id,name,score,joined\n1,a,0.5,2024-13-45\n", 2, "joined", "not a valid DATE", false},
		{"required", "id,name,score,joined\n1,a,0.5,2024-01-01\n,b,0.5,2024-01-01\n", 3, "id", "a value is required", false},
		{"non utf8", "id,name,score,joined\n1,a\xff\xfeb,0.5,2024-01-01\n", 2, "name", "invalid UTF-8", false},
		{"wrong header", "id,nom,score,joined\n1,a,0.5,2024-01-01\n", 1, "header", `column 2 is "nom", the schema expects "name"`, false},
		{"missing column", "id,name,score\n1,a,0.5\n", 1, "header", "missing joined", false},
		{"added column", "id,name,score,joined,extra\n1,a,0.5,2024-01-01,x\n", 1, "header", "unexpected extra", false},
		{"text after quote", "id,name,score,joined\n1,\"a\"b,0.5,2024-01-01\n", 2, "", "never closed, or has text after its closing quote", false},
		{"non utf8 inferred", "a,b\n1,x\n2,\xff\n", 3, "b", "invalid UTF-8", true},
		{"non utf8 header", "a,\xffb\n1,2\n", 1, "header", "column 2 name is not valid UTF-8", true},
		{"long line", "id,name,score,joined\n1,a,0.5,2024-01-01\n2," + strings.Repeat("x", 3<<20) + "\n", 3, "", "longer than 2 MiB without a line break", false},
		{"duplicate header", "a,b,a\n1,2,3\n", 1, "header", "repeats the name", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := pipeline.Source{Schema: schema}
			if c.infer {
				src.Schema = nil
			}
			_, p := run(t, c.content, src)
			if p == nil {
				t.Fatal("accepted")
			}
			if p.Line != c.line || p.Field != c.field || !strings.Contains(p.Err.Error(), c.msg) {
				t.Errorf("got line %d field %q: %v; want line %d field %q: %q", p.Line, p.Field, p.Err, c.line, c.field, c.msg)
			}
		})
	}
}

func TestJSONLines(t *testing.T) {
	src := pipeline.Source{Format: "jsonl"}
	res, p := run(t, `{"id":1,"name":"a","score":0.5}`+"\n"+`{"id":2,"name":"b","score":null}`+"\n", src)
	if p != nil {
		t.Fatalf("problem %+v", p)
	}
	if res.Rows != 2 || len(res.Schema) != 3 {
		t.Errorf("%+v", res)
	}
	_, p = run(t, `{"id":1}`+"\n"+`{"id":2,`+"\n"+`{"id":3}`+"\n", src)
	if p == nil || p.Line != 2 || !strings.Contains(p.Err.Error(), "not valid JSON") {
		t.Errorf("broken line: %+v", p)
	}
	_, p = run(t, "  \n", src)
	if p == nil || !strings.Contains(p.Err.Error(), "empty") {
		t.Errorf("blank file: %+v", p)
	}
	src.Schema = []pipeline.Column{{Name: "id", Type: "BIGINT", Required: true}, {Name: "score", Type: "DOUBLE"}}
	_, p = run(t, `{"id":1,"score":1.5}`+"\n"+`{"id":2,"score":"high"}`+"\n", src)
	if p == nil || p.Line != 2 || p.Field != "score" {
		t.Errorf("bad type: %+v", p)
	}
}
