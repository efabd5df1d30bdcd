// Command warehouse benchmarks the warehouse sinks' loads against their
// databases' own bulk loaders, on the same data in the same run, and
// prints a markdown table. scripts/bench-warehouse.sh runs it against a
// throwaway Postgres.
//
//	go run ./scripts/bench/warehouse -dsn postgres://… -rows 1000000 -dir /tmp/x
//
// Each loader loads the whole data set into an empty table of the same
// definition; the best of -reps runs counts.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	dsn := flag.String("dsn", "", "Postgres URL (required)")
	rows := flag.Int("rows", 1000000, "rows in the data set")
	dir := flag.String("dir", "", "directory for the data and DuckDB files (required)")
	reps := flag.Int("reps", 3, "runs of each loader; the best counts")
	flag.Parse()
	if *dsn == "" || *dir == "" {
		flag.Usage()
		os.Exit(2)
	}
	log.SetFlags(0)
	ctx := context.Background()
	d := dataset{parquet: filepath.Join(*dir, "orders.parquet"), csv: filepath.Join(*dir, "orders.csv"), rows: *rows}
	log.Printf("generating %d rows...", *rows)
	if err := d.generate(ctx); err != nil {
		log.Fatal(err)
	}
	pg, err := newPostgresBench(ctx, *dsn, d)
	if err != nil {
		log.Fatal(err)
	}
	defer pg.close()
	duck := &duckBench{data: d, dir: *dir}

	type result struct{ name, vs, target string }
	var out []result
	best := map[string]time.Duration{}
	// A loader prepares its run, then calls timed with the load.
	type loader func(ctx context.Context, timed func(func() error) error) error
	measure := func(name string, run loader) {
		for i := 0; i < *reps; i++ {
			var took time.Duration
			err := run(ctx, func(load func() error) error {
				start := time.Now()
				err := load()
				took = time.Since(start)
				return err
			})
			if err != nil {
				log.Fatalf("%s: %v", name, err)
			}
			log.Printf("%-52s run %d: %v (%.0f rows/s)", name, i+1, took.Round(time.Millisecond), float64(*rows)/took.Seconds())
			if b, ok := best[name]; !ok || took < b {
				best[name] = took
			}
		}
	}
	// Postgres loaders each get bench.t empty, and must leave the same
	// rows in it.
	var want string
	pgLoader := func(load func(context.Context) error) loader {
		return func(ctx context.Context, timed func(func() error) error) error {
			if err := pg.reset(ctx); err != nil {
				return err
			}
			if err := timed(func() error { return load(ctx) }); err != nil {
				return err
			}
			got, err := pg.checksum(ctx)
			if want == "" {
				want = got
			}
			if err == nil && got != want {
				err = fmt.Errorf("table checksum %s, want %s (the first loader's)", got, want)
			}
			return err
		}
	}
	const (
		psqlCopy = "psql `\\copy t FROM 'orders.csv' CSV HEADER`"
		pgwhLoad = "pgwh Load, append (binary COPY from Parquet)"
		pgwhMrg  = "pgwh Load, merge into empty table (staging + MERGE)"
		pgxRows  = "pgx CopyFrom + parquetrows.Rows (values as `any`)"
		inserts  = "batched INSERT, 1000 rows/statement (pgx)"
		duckCopy = "DuckDB `COPY t FROM 'orders.parquet'`"
		duckLoad = "duckwh Load (append)"
	)
	measure(psqlCopy, pgLoader(pg.psqlCopy))
	measure(pgwhLoad, pgLoader(pg.pgwhAppend))
	measure(pgwhMrg, pgLoader(pg.pgwhMerge))
	measure(pgxRows, pgLoader(pg.pgxCopyFrom))
	measure(inserts, pgLoader(pg.batchedInsert))
	measure(duckCopy, duck.copyFrom)
	measure(duckLoad, duck.duckwhLoad)
	out = append(out,
		result{psqlCopy, "", ""},
		result{pgwhLoad, psqlCopy, "≥ 0.8x"},
		result{pgwhMrg, psqlCopy, ""},
		result{pgxRows, psqlCopy, ""},
		result{inserts, psqlCopy, ""},
		result{duckCopy, "", ""},
		result{duckLoad, duckCopy, "≥ 0.8x"},
	)

	host, _ := os.Hostname()
	fmt.Printf("warehouse loads, %d rows × 16 columns (Parquet %s, CSV %s), %d CPUs on %s, Postgres %s, best of %d, %s\n\n",
		*rows, size(d.parquet), size(d.csv), runtime.NumCPU(), host, pg.version, *reps, time.Now().UTC().Format("2006-01-02"))
	fmt.Println("| loader | time | rows/s | vs | ratio | target |")
	fmt.Println("|---|---:|---:|---|---:|---|")
	for _, r := range out {
		took := best[r.name]
		ratio, vs := "", ""
		if r.vs != "" {
			ratio = fmt.Sprintf("**%.2fx**", best[r.vs].Seconds()/took.Seconds())
			vs = strings.SplitN(r.vs, " ", 2)[0]
			if strings.HasPrefix(r.vs, "DuckDB") {
				vs = "DuckDB COPY"
			}
		}
		fmt.Printf("| %s | %.2f s | %.0f | %s | %s | %s |\n", r.name, took.Seconds(), float64(*rows)/took.Seconds(), vs, ratio, r.target)
	}
	fmt.Printf("\npgwh Load vs batched INSERT: **%.1fx**\n", best[inserts].Seconds()/best[pgwhLoad].Seconds())
}

func size(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.0f MB", float64(st.Size())/1e6)
}
