package engine

import (
	"context"
	"testing"
)

func TestQuotingKeepsHostileNamesInert(t *testing.T) {
	if got := QuoteIdent(`a"b`); got != `"a""b"` {
		t.Errorf("ident %s", got)
	}
	if got := QuoteQualified("s.t"); got != `"s"."t"` {
		t.Errorf("qualified %s", got)
	}
	if got := QuoteString("it's"); got != `'it''s'` {
		t.Errorf("string %s", got)
	}
	e, err := Open(Config{TempDir: t.TempDir(), Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	conn, _ := e.Conn(context.Background())
	defer conn.Close()
	evil := `x"; DROP TABLE t; --`
	var got string
	q := "SELECT " + QuoteString("'; DROP TABLE t; --") + " AS " + QuoteIdent(evil)
	if err := conn.QueryRowContext(context.Background(), q).Scan(&got); err != nil || got != "'; DROP TABLE t; --" {
		t.Errorf("%q %v", got, err)
	}
	cols, err := Describe(context.Background(), conn, q)
	if err != nil || cols[0].Name != evil {
		t.Errorf("described %v %v", cols, err)
	}
}
