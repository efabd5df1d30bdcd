//go:build warehouse

package handler

import (
	"strings"
	"testing"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/warehouse/warehousetest"
	"github.com/fusiondata/fusion/services/runtime/worker"
	"github.com/fusiondata/fusion/services/runtime/worker/workertest"
)

func snowflakeStack(t *testing.T, def string) *workertest.Stack {
	t.Helper()
	dsn := warehousetest.SnowflakeDSN(t)
	s := workertest.New(t, map[string]string{"p.yaml": def})
	s.Deps.Connections = map[string]string{"snow": "snowflake://" + dsn}
	return s
}

// The pipeline's SQL runs in Snowflake (fakesnow here) over the staged
// input, and the result comes back as the curated dataset, with names in
// the pipeline's spelling and Snowflake's types.
func TestTransformPushedDownToSnowflake(t *testing.T) {
	s := snowflakeStack(t, `name: p
transform:
  engine: snowflake
  connection: snow
  sql: |
    SELECT id, upper(name) AS name, amount * 2 AS doubled, CAST(amount AS NUMBER(10,2)) AS amt, day
    FROM input WHERE amount > 1 ORDER BY id;
`)
	w, _ := New(s.Deps)
	ref := s.Parquet(t, "raw/p/r/in.parquet", "SELECT i AS id, 'n' || i AS name, i::DOUBLE AS amount, DATE '2026-11-21' + i::INTEGER AS day FROM range(0, 10) t(i)")
	out, err := s.Call(t, w, "p", &messages.DatasetIngested{RunRef: messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}, Dataset: ref})
	if err != nil {
		t.Fatal(err)
	}
	ev := out.Events[0].(*messages.DatasetTransformed)
	var schema []string
	for _, c := range ev.Dataset.Schema {
		schema = append(schema, c.Name+" "+c.Type)
	}
	if ev.Dataset.Rows != 8 || strings.Join(schema, ", ") != "id BIGINT, name VARCHAR, doubled DOUBLE, amt DECIMAL(10,2), day DATE" {
		t.Fatalf("%d rows, schema %s", ev.Dataset.Rows, strings.Join(schema, ", "))
	}
	rows := s.Query(t, "SELECT id, name, doubled, amt::VARCHAR, day FROM read_parquet('"+s.Path(t, ev.Dataset.Objects[0])+"') ORDER BY id LIMIT 1")
	if strings.Join(rows[0], ",") != "2,N2,4,2.00,2026-11-23" {
		t.Errorf("first row %v", rows[0])
	}
}

func TestSnowflakeSQLErrorIsPermanentAndNamesTheFile(t *testing.T) {
	s := snowflakeStack(t, "name: p\ntransform: {engine: snowflake, connection: snow, sql: SELECT colour FROM input}\n")
	w, _ := New(s.Deps)
	ref := s.Parquet(t, "raw/p/r/in.parquet", "SELECT 1 AS id")
	_, err := s.Call(t, w, "p", &messages.DatasetIngested{RunRef: messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}, Dataset: ref})
	if !worker.IsPermanent(err) || !strings.Contains(err.Error(), "p.yaml: transform.sql (in Snowflake)") {
		t.Errorf("got %v", err)
	}
}

func TestSnowflakeTransformNeedsItsConnection(t *testing.T) {
	s := snowflakeStack(t, "name: p\ntransform: {engine: snowflake, connection: nope, sql: SELECT 1}\n")
	w, _ := New(s.Deps)
	ref := s.Parquet(t, "raw/p/r/in.parquet", "SELECT 1 AS id")
	_, err := s.Call(t, w, "p", &messages.DatasetIngested{RunRef: messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}, Dataset: ref})
	if !worker.IsPermanent(err) || !strings.Contains(err.Error(), "FUSION_CONN_NOPE") {
		t.Errorf("got %v", err)
	}
}
