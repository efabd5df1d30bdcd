package pipeline

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fusiondata/fusion/messages"
)

const pgMinimal = `name: orders
source:
  postgres:
    connection: crm
    table: public.orders
    bookmark: updated_at
transform:
  sql: SELECT * FROM input
`

func TestPostgresSource(t *testing.T) {
	p, err := Parse("orders.yaml", []byte(pgMinimal))
	if err != nil {
		t.Fatal(err)
	}
	pg := p.Source.Postgres
	if schema, table := pg.TableName(); schema != "public" || table != "orders" || pg.BookmarkColumn() != "updated_at" || pg.ColumnNames() != nil {
		t.Errorf("%+v", pg)
	}
	// No landing defaults: a table lands no files.
	if p.Source.Prefix != "" || p.Source.Format != "" || p.Source.Delimiter != "" || p.OwnsKey("landing/orders/x.csv") || p.OwnsKey("") {
		t.Errorf("landing settings on a postgres source: %+v", p.Source)
	}
	if pg.Label() != "postgres:crm/public.orders" {
		t.Errorf("label %q", pg.Label())
	}
	// The ingest step starts on a request; the rest is unchanged.
	steps := p.Steps()
	if steps[0].Name != "ingest" || steps[0].Consumes != messages.TypeIngestRequested || steps[1].Consumes != messages.TypeDatasetIngested {
		t.Errorf("steps %+v", steps)
	}
	if _, ok := p.StepFor(WorkerIngest, messages.DetailTypeObjectCreated); ok {
		t.Error("a postgres pipeline's ingest consumes landed objects")
	}
}

func TestPostgresNames(t *testing.T) {
	y := strings.Replace(pgMinimal, "table: public.orders", `table: 'Sales."Order ""Lines"""'`, 1)
	y = strings.Replace(y, "bookmark: updated_at", `bookmark: '"Updated At"'`+"\n    columns: [ID, '\"Order Total\"', updated_at]", 1)
	p, err := Parse("orders.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	pg := p.Source.Postgres
	if s, n := pg.TableName(); s != "sales" || n != `Order "Lines"` {
		t.Errorf("table %q.%q", s, n)
	}
	if got := pg.ColumnNames(); !reflect.DeepEqual(got, []string{"id", "Order Total", "updated_at"}) {
		t.Errorf("columns %q", got)
	}
	if pg.BookmarkColumn() != "Updated At" {
		t.Errorf("bookmark %q", pg.BookmarkColumn())
	}
	for in, want := range map[string][]string{
		"orders": {"orders"}, "a.b": {"a", "b"}, `"a.b"`: {"a.b"}, `"x"".y"."z"`: {`x".y`, "z"}, "_t$1": {"_t$1"},
	} {
		if got, err := ParseSQLName(in); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "a.", ".a", `"a`, `""`, "a b", "1a", "a;drop", `"a"b`, "$a", strings.Repeat("x", 64)} {
		if got, err := ParseSQLName(bad); err == nil {
			t.Errorf("%q accepted as %q", bad, got)
		}
	}
}

func TestPostgresSourceErrors(t *testing.T) {
	cases := map[string]struct {
		yaml string
		want []string
	}{
		"no connection":      {strings.Replace(pgMinimal, "    connection: crm\n", "", 1), []string{"orders.yaml:3: source.postgres.connection: is required"}},
		"bad connection":     {strings.Replace(pgMinimal, "connection: crm", "connection: CRM-1", 1), []string{"orders.yaml:4: source.postgres.connection: must name a connection", "FUSION_CONN_<NAME>"}},
		"no table":           {strings.Replace(pgMinimal, "    table: public.orders\n", "", 1), []string{"source.postgres.table: is required"}},
		"bad table":          {strings.Replace(pgMinimal, "table: public.orders", "table: 'orders; DROP TABLE x'", 1), []string{"orders.yaml:5: source.postgres.table:", "is not a table name", "quote names"}},
		"three part table":   {strings.Replace(pgMinimal, "table: public.orders", "table: db.public.orders", 1), []string{"orders.yaml:5: source.postgres.table:", "use table or schema.table"}},
		"unclosed quote":     {strings.Replace(pgMinimal, "table: public.orders", `table: '"orders'`, 1), []string{"source.postgres.table:", "not closed"}},
		"bad bookmark":       {strings.Replace(pgMinimal, "bookmark: updated_at", "bookmark: a.b", 1), []string{"orders.yaml:6: source.postgres.bookmark:", "is not a column name"}},
		"bad column":         {strings.Replace(pgMinimal, "bookmark: updated_at", "columns: [id, 'x y']", 1), []string{"orders.yaml:6: source.postgres.columns[1]:", `"x y" is not a column name`}},
		"duplicate column":   {strings.Replace(pgMinimal, "bookmark: updated_at", "columns: [id, ID]", 1), []string{"source.postgres.columns[1]: column \"id\" is listed twice"}},
		"columns + schema":   {strings.Replace(pgMinimal, "bookmark: updated_at", "columns: [id]\n  schema: [{name: id, type: BIGINT}]", 1), []string{"source.postgres.columns: give either columns or source.schema"}},
		"format given":       {strings.Replace(pgMinimal, "source:\n", "source:\n  format: csv\n", 1), []string{"orders.yaml:3: source.format: only applies to landed files"}},
		"prefix given":       {strings.Replace(pgMinimal, "source:\n", "source:\n  prefix: landing/orders/\n", 1), []string{"orders.yaml:3: source.prefix: only applies to landed files"}},
		"delimiter given":    {strings.Replace(pgMinimal, "source:\n", "source:\n  delimiter: ';'\n", 1), []string{"source.delimiter: only applies to landed files"}},
		"unknown field":      {strings.Replace(pgMinimal, "bookmark: updated_at", "bookmark: updated_at\n    password: secret", 1), []string{"orders.yaml:7:", `unknown field "password" in source.postgres`}},
		"bad schema type":    {strings.Replace(pgMinimal, "bookmark: updated_at", "bookmark: updated_at\n  schema: [{name: id, type: SERIAL}]", 1), []string{"source.schema[0].type: unsupported type \"SERIAL\""}},
		"postgres not a map": {strings.Replace(pgMinimal, "  postgres:\n    connection: crm\n    table: public.orders\n    bookmark: updated_at\n", "  postgres: crm\n", 1), []string{"orders.yaml:3:", "cannot unmarshal"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("orders.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.File != "orders.yaml" {
				t.Errorf("not a located *Error: %#v", err)
			}
		})
	}
}

// A Postgres pipeline claims no landing prefix, so it overlaps no file
// pipeline, and landed files never reach it.
func TestRegistryWithPostgresPipelines(t *testing.T) {
	fsys := fstest.MapFS{
		"orders.yaml":    {Data: []byte(pgMinimal)},
		"customers.yaml": {Data: []byte(strings.NewReplacer("name: orders", "name: customers", "public.orders", "public.customers").Replace(pgMinimal))},
		"files.yaml":     {Data: []byte(strings.Replace(minimal, "orders", "files", 1))},
	}
	r, err := NewRegistry(fsys, "pipelines")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems()) != 0 || len(r.All()) != 3 {
		t.Fatalf("problems %v, pipelines %d", r.Problems(), len(r.All()))
	}
	if p, err := r.ForKey("landing/files/x.csv"); err != nil || p.Name != "files" {
		t.Errorf("ForKey: %v, %v", p, err)
	}
	if _, err := r.ForKey("landing/orders/x.csv"); !errors.Is(err, ErrNoPipeline) || strings.Contains(err.Error(), `""`) {
		t.Errorf("a landed file reached a postgres pipeline: %v", err)
	}
}

// The example under deploy/examples parses (it is not seeded into homes).
func TestPostgresExampleParses(t *testing.T) {
	data, err := os.ReadFile("../../../deploy/examples/orders.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("orders.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if p.Source.Postgres == nil || p.Source.Postgres.BookmarkColumn() == "" {
		t.Errorf("%+v", p.Source)
	}
}
