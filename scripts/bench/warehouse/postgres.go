package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/warehouse/parquetrows"
	"github.com/fusiondata/fusion/services/runtime/warehouse/pgwh"
)

// postgresBench loads the data set into bench.t, which every run gets
// empty, with the definition pgwh gives the data (bench.template).
type postgresBench struct {
	dsn     string
	data    dataset
	pool    *pgxpool.Pool
	wh      *pgwh.Warehouse
	version string
	columns []string
	loads   int
}

const (
	benchSchema = "bench"
	benchTable  = benchSchema + ".t"
)

func newPostgresBench(ctx context.Context, dsn string, d dataset) (*postgresBench, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, err
	}
	p := &postgresBench{dsn: dsn, data: d, pool: pool}
	if err := pool.QueryRow(ctx, "SHOW server_version").Scan(&p.version); err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS bench CASCADE"); err != nil {
		return nil, err
	}
	if p.wh, err = pgwh.Open(ctx, dsn, pgwh.Options{History: benchSchema + "." + pgwh.History}); err != nil {
		return nil, err
	}
	// The template's definition is pgwh's for the data; loading it once
	// also warms the caches for every loader alike.
	if _, err := p.load(ctx, benchSchema+".template", pipeline.ModeAppend, nil); err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, "TRUNCATE bench.template"); err != nil {
		return nil, err
	}
	rows, err := pool.Query(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = 'bench' AND table_name = 'template' ORDER BY ordinal_position`)
	if err != nil {
		return nil, err
	}
	p.columns, err = pgx.CollectRows(rows, pgx.RowTo[string])
	return p, err
}

func (p *postgresBench) close() {
	p.wh.Close()
	p.pool.Close()
}

// reset gives bench.t empty and flushes what earlier runs left dirty, so
// that no run pays for another's writes.
func (p *postgresBench) reset(ctx context.Context) error {
	for _, s := range []string{"DROP TABLE IF EXISTS bench.t", "CREATE TABLE bench.t (LIKE bench.template)", "CHECKPOINT"} {
		if _, err := p.pool.Exec(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// checksum digests bench.t's rows, to check that every loader loaded the
// same values.
func (p *postgresBench) checksum(ctx context.Context) (string, error) {
	var sum string
	err := p.pool.QueryRow(ctx, "SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY order_id)) FROM bench.t AS t").Scan(&sum)
	return sum, err
}

func (p *postgresBench) load(ctx context.Context, table, mode string, keys []string) (warehouse.Result, error) {
	p.loads++
	run := fmt.Sprintf("bench-%d", p.loads)
	return p.wh.Load(ctx, warehouse.LoadRequest{LoadID: warehouse.LoadID(run, "bench.orders", 0), RunID: run,
		Dataset: "bench.orders", Table: table, Mode: mode, Keys: keys, Files: []string{p.data.parquet}})
}

func (p *postgresBench) pgwhAppend(ctx context.Context) error {
	return p.checkRows(p.load(ctx, benchTable, pipeline.ModeAppend, nil))
}

func (p *postgresBench) pgwhMerge(ctx context.Context) error {
	return p.checkRows(p.load(ctx, benchTable, pipeline.ModeMerge, []string{"order_id"}))
}

func (p *postgresBench) checkRows(res warehouse.Result, err error) error {
	if err == nil && (!res.Applied || res.Rows != int64(p.data.rows)) {
		err = fmt.Errorf("loaded %+v, want %d rows", res, p.data.rows)
	}
	return err
}

// psqlCopy is Postgres's own CSV loader, as a user runs it.
func (p *postgresBench) psqlCopy(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, "psql", p.dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1",
		"-c", fmt.Sprintf(`\copy %s FROM %s CSV HEADER`, benchTable, engine.QuoteString(p.data.csv)))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// pgxCopyFrom is pgx's CopyFrom fed by parquetrows.Rows: binary COPY, but
// every value boxed in an any and encoded through pgx's type map.
func (p *postgresBench) pgxCopyFrom(ctx context.Context) error {
	rows := parquetrows.Open(ctx, []string{p.data.parquet}, p.columns)
	defer rows.Close()
	n, err := p.pool.CopyFrom(ctx, pgx.Identifier{benchSchema, "t"}, p.columns, rows)
	if err == nil && n != int64(p.data.rows) {
		err = fmt.Errorf("copied %d rows", n)
	}
	return err
}

// batchedInsert is the loader one writes first: multi-row INSERTs of 1000
// rows, in one transaction.
func (p *postgresBench) batchedInsert(ctx context.Context) error {
	const batch = 1000
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	rows := parquetrows.Open(ctx, []string{p.data.parquet}, p.columns)
	defer rows.Close()
	args := make([]any, 0, batch*len(p.columns))
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, insertSQL(p.columns, len(args)/len(p.columns)), args...)
		args = args[:0]
		return err
	}
	for rows.Next() {
		vals, _ := rows.Values()
		args = append(args, vals...)
		if len(args) == cap(args) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func insertSQL(columns []string, rows int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", benchTable, engine.QuoteIdents(columns))
	n := 0
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range columns {
			if c > 0 {
				b.WriteString(", ")
			}
			n++
			fmt.Fprintf(&b, "$%d", n)
		}
		b.WriteByte(')')
	}
	return b.String()
}
