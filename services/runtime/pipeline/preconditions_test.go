package pipeline

import (
	"strings"
	"testing"
	"time"
)

func TestPreconditions(t *testing.T) {
	p, err := Parse("p.yaml", []byte(minimal+`load: [{dataset: curated, table: orders}]
preconditions:
  - step: transform
    object_exists: landing/orders/_SUCCESS_{{date}}
    timeout: 10m
    retry_every: 30s
  - step: load.curated
    table_has_rows: {table: analytics.rates, where: "day = DATE '{{date}}'"}
  - step: transform
    shell: test -s /data/{{pipeline}}/{{ run_id }}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := p.PreconditionsFor("transform")
	if len(got) != 2 || got[0].Kind() != CondObjectExists || got[1].Kind() != CondShell {
		t.Fatalf("transform's preconditions %+v", got)
	}
	if got[0].TimeoutDuration() != 10*time.Minute || got[0].Every() != 30*time.Second {
		t.Errorf("durations %v %v", got[0].TimeoutDuration(), got[0].Every())
	}
	load := p.PreconditionsFor("load.curated")[0]
	if load.TimeoutDuration() != DefaultPreconditionTimeout || load.Every() != DefaultPreconditionEvery {
		t.Errorf("defaults %v %v", load.TimeoutDuration(), load.Every())
	}
	vars := Vars{RunID: "20261121-020000-abcdef", Pipeline: "orders"}
	if e := got[0].Expand(vars); e.Subject() != "landing/orders/_SUCCESS_2026-11-21" {
		t.Errorf("expanded %q", e.Subject())
	}
	if e := got[1].Expand(vars); e.Subject() != "test -s /data/orders/20261121-020000-abcdef" {
		t.Errorf("expanded %q", e.Subject())
	}
	if e := load.Expand(vars); e.Subject() != "analytics.rates where day = DATE '2026-11-21'" || load.TableHasRows.Where != "day = DATE '{{date}}'" {
		t.Errorf("expanded %q; the original became %q", e.Subject(), load.TableHasRows.Where)
	}
	if len(p.PreconditionsFor("ingest")) != 0 {
		t.Error("ingest has none")
	}
}

func TestPreconditionErrors(t *testing.T) {
	base := minimal + "load: [{dataset: curated, table: orders}]\npreconditions:\n"
	cases := map[string]struct{ yaml, want string }{
		"no step":       {"  - {step: train, object_exists: a/b}\n", `p.yaml:7: preconditions[0].step: "train" is not a step of this pipeline (steps: ingest, transform, load.curated)`},
		"no kind":       {"  - {step: transform, timeout: 1m}\n", "p.yaml:7: preconditions[0]: needs one of object_exists"},
		"two kinds":     {"  - {step: transform, object_exists: a/b, table_exists: t}\n", "preconditions[0].table_exists: a precondition checks one thing (it also has object_exists)"},
		"bad key":       {"  - {step: transform, object_exists: ../etc/passwd}\n", "preconditions[0].object_exists: must be an object key"},
		"prefix as key": {"  - {step: transform, object_exists: landing/x/}\n", "preconditions[0].object_exists: must be an object key"},
		"bad table":     {"  - {step: transform, table_exists: 'x; DROP TABLE y'}\n", "preconditions[0].table_exists: must be a table name"},
		"placeholder":   {"  - {step: transform, object_exists: 'a/{{day}}'}\n", "preconditions[0].object_exists: unknown placeholder {{day}}"},
		"statements":    {"  - step: transform\n    table_has_rows: {table: t, where: '1=1; DELETE FROM t'}\n", "p.yaml:8: preconditions[0].table_has_rows.where: is a predicate"},
		"bad timeout":   {"  - {step: transform, shell: 'true', timeout: soon}\n", `preconditions[0].timeout: must be a positive duration such as 30s, 10m or 2h (got "soon")`},
		"too long":      {"  - {step: transform, shell: 'true', timeout: 13h}\n", "preconditions[0].timeout: must be at most 11h0m0s"},
		"too often":     {"  - {step: transform, shell: 'true', retry_every: 100ms}\n", "preconditions[0].retry_every: must be at least 1s"},
		"once":          {"  - {step: transform, shell: 'true', timeout: 10s, retry_every: 1m}\n", "preconditions[0].retry_every: 1m0s is longer than the timeout 10s"},
		"unknown field": {"  - {step: transform, shell: 'true', every: 1m}\n", `unknown field "every" in a precondition`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(base+c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v\nwant %q", err, c.want)
			}
		})
	}
}

func TestVars(t *testing.T) {
	v := Vars{RunID: "20261121-151600-3fa9c2", Pipeline: "churn"}
	if got := v.Expand("{{pipeline}}/{{run_id}}/{{date}}/{{other}}"); got != "churn/20261121-151600-3fa9c2/2026-11-21/{{other}}" {
		t.Errorf("expanded %q", got)
	}
	if err := checkTemplate("{{ run_id }} {{date}}"); err != nil {
		t.Error(err)
	}
}
