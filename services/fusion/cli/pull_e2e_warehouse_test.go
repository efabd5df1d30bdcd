//go:build warehouse

package cli

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/platform"
	"github.com/fusiondata/fusion/services/runtime/warehouse/warehousetest"
)

// embeddedWithConnections starts every worker on a new home, like
// embedded, with named connections configured.
func embeddedWithConnections(t *testing.T, pipelines map[string]string, conns map[string]string) *platform.Platform {
	t.Helper()
	home := t.TempDir()
	dir := filepath.Join(home, "pipelines")
	os.MkdirAll(dir, 0o755)
	for name, body := range pipelines {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return start(t, config.Config{Home: home, LandingPoll: 20 * time.Millisecond, Retries: 1, Concurrency: 2, Connections: conns})
}

// TestPostgresSourceEndToEnd requests pulls of a Postgres table with the
// fusion command, as a user would, while the embedded tier runs every
// worker: each run copies the new and changed rows, transform and loader
// work unchanged, and the warehouse table follows the source.
func TestPostgresSourceEndToEnd(t *testing.T) {
	ctx := context.Background()
	src, err := pgx.Connect(ctx, warehousetest.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("e2e_%d", rand.Uint32())
	exec := func(sql string) {
		t.Helper()
		if _, err := src.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`CREATE SCHEMA ` + schema)
	t.Cleanup(func() { src.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); src.Close(ctx) })
	exec(`CREATE TABLE ` + schema + `.orders (id int PRIMARY KEY, customer text NOT NULL, amount numeric(10,2), updated_at timestamptz NOT NULL)`)
	exec(`INSERT INTO ` + schema + `.orders VALUES (1, 'ann', 10.50, '2026-01-01 10:00+00'), (2, 'bo', 20, '2026-01-01 11:00+00'), (3, 'cy', NULL, '2026-01-01 12:00+00')`)

	orders := `name: orders
source:
  postgres: {connection: crm, table: ` + schema + `.orders, bookmark: updated_at}
transform:
  sql: SELECT id, upper(customer) AS customer, amount * 2 AS doubled, updated_at FROM input
load:
  - {dataset: curated, table: orders, keys: [id], mode: merge}
`
	missing := strings.NewReplacer("name: orders", "name: missing", schema+".orders", schema+".nope").Replace(orders)
	p := embeddedWithConnections(t, map[string]string{"orders.yaml": orders, "missing.yaml": missing, "small.yaml": smallPipeline},
		map[string]string{"crm": warehousetest.PostgresDSN(t)})
	home := p.Config.Home
	request := func(pipelineName string) (int, string) {
		t.Helper()
		code, out, errOut := fusion(t, "ingest", "--home", home, "--pipeline", pipelineName, "--wait", "--timeout", "1m", "--reason", "test")
		return code, out + errOut
	}
	warehouse := func() string {
		return fmt.Sprint(query(t, home, "SELECT id, customer, doubled::VARCHAR, strftime(updated_at::TIMESTAMP, '%H:%M') FROM orders ORDER BY id"))
	}

	// Run 1: the whole table.
	code, out := request("orders")
	if code != 0 || !strings.Contains(out, "requested a pull of postgres:crm/"+schema+".orders") || !strings.Contains(out, "succeeded") ||
		!strings.Contains(out, "input postgres:crm/"+schema+".orders") {
		t.Fatalf("run 1 exited %d:\n%s", code, out)
	}
	runIDs := []string{runIDOf(t, out)}
	if got := warehouse(); got != "[[1 ANN 21.00 10:00] [2 BO 40.00 11:00] [3 CY  12:00]]" {
		t.Errorf("after run 1: %s", got)
	}

	// Run 2: one changed row and one new row, nothing else.
	exec(`UPDATE ` + schema + `.orders SET amount = 5, updated_at = '2026-01-02 09:00+00' WHERE id = 2`)
	exec(`INSERT INTO ` + schema + `.orders VALUES (4, 'di', 1, '2026-01-02 10:00+00')`)
	if code, out = request("orders"); code != 0 {
		t.Fatalf("run 2 exited %d:\n%s", code, out)
	}
	runIDs = append(runIDs, runIDOf(t, out))
	if got := warehouse(); got != "[[1 ANN 21.00 10:00] [2 BO 10.00 09:00] [3 CY  12:00] [4 DI 2.00 10:00]]" {
		t.Errorf("after run 2: %s", got)
	}

	// Run 3: nothing new; the run still completes, with 0 rows.
	if code, out = request("orders"); code != 0 || !strings.Contains(out, "succeeded") {
		t.Fatalf("run 3 exited %d:\n%s", code, out)
	}
	runIDs = append(runIDs, runIDOf(t, out))
	var ingested []string
	for _, id := range runIDs {
		r, err := p.Ledger.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ingested = append(ingested, fmt.Sprintf("%s:%d", r.Status, r.Steps[0].RowsOut))
	}
	if fmt.Sprint(ingested) != "[succeeded:3 succeeded:2 succeeded:0]" {
		t.Errorf("runs: %v", ingested)
	}
	// Rows loaded: 3 + 2 + 0.
	if got := fmt.Sprint(query(t, home, "SELECT sum(rows) FROM _fusion_loads")); got != "[[5]]" {
		t.Errorf("loaded rows %s", got)
	}

	// A table that is not there fails the run, naming pipeline and table.
	code, out = request("missing")
	if code != 1 || !strings.Contains(out, "pipeline missing: postgres table "+schema+".nope (connection crm)") || !strings.Contains(out, "no such table") {
		t.Errorf("missing table exited %d:\n%s", code, out)
	}
	var failed ledger.Run
	for _, r := range pullRuns(t, p) {
		if r.Pipeline == "missing" {
			failed = r
		}
	}
	if failed.Status != ledger.Failed {
		t.Errorf("missing table run %+v", failed)
	}

	// The command says which form a pipeline takes.
	if code, _, errOut := fusion(t, "ingest", "--home", home, "--pipeline", "orders", filepath.Join(home, "x.csv")); code == 0 || !strings.Contains(errOut, "run without FILE") {
		t.Errorf("a file for a postgres pipeline: %d %s", code, errOut)
	}
	if code, _, errOut := fusion(t, "ingest", "--home", home, "--pipeline", "small"); code == 0 || !strings.Contains(errOut, "give the FILE") {
		t.Errorf("no file for a file pipeline: %d %s", code, errOut)
	}
}

// runIDOf finds the run id the command announced.
func runIDOf(t *testing.T, out string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, ": run ")
	if !ok || len(rest) < 22 {
		t.Fatalf("no run id in %q", out)
	}
	return rest[:22]
}

func pullRuns(t *testing.T, p *platform.Platform) []ledger.Run {
	t.Helper()
	runs, err := p.Ledger.Runs(context.Background(), 20)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}
