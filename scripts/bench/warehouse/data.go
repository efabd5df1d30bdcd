package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"

	_ "github.com/marcboeker/go-duckdb" // writes the data set

	"github.com/fusiondata/fusion/services/runtime/engine"
)

// dataset is one table's rows as Parquet and the same rows as CSV.
type dataset struct {
	parquet, csv string
	rows         int
}

// orders is a realistic order table: ids, money as DOUBLE and DECIMAL,
// small and large integers, short and longer strings, dates, a timestamp
// and some NULLs.
const orders = `SELECT
	i::BIGINT AS order_id,
	(hash(i) % 1000000)::BIGINT AS customer_id,
	(i % 500)::INTEGER AS store_id,
	(1 + hash(i * 3) % 20)::INTEGER AS quantity,
	round(1 + (hash(i * 5) % 100000) / 100.0, 2)::DOUBLE AS unit_price,
	CASE WHEN i % 5 = 0 THEN NULL ELSE (hash(i * 7) % 30) / 100.0 END::DOUBLE AS discount,
	((hash(i * 11) % 10000000) / 100.0)::DECIMAL(12,2) AS amount,
	(hash(i * 13) % 1000) / 7.0 AS tax,
	['pending', 'paid', 'shipped', 'delivered', 'returned'][1 + i % 5] AS status,
	['US', 'DE', 'FR', 'GB', 'JP', 'BR', 'IN', 'CA'][1 + i % 8] AS country,
	'customer' || (hash(i) % 1000000) || '@example.com' AS email,
	'Product ' || (hash(i * 17) % 5000) || ' ' || ['small', 'medium', 'large', 'family size'][1 + i % 4] AS product,
	DATE '2024-01-01' + (i % 730)::INTEGER AS order_date,
	CASE WHEN i % 10 = 0 THEN NULL ELSE DATE '2024-01-03' + (i % 730)::INTEGER END AS ship_date,
	TIMESTAMP '2024-01-01 00:00:00' + to_microseconds((hash(i * 19) % 63072000000000)::BIGINT) AS updated_at,
	(i % 3 = 0) AS gift
FROM range(ROWS) t(i)`

// generate writes the files unless they hold the rows already.
func (d dataset) generate(ctx context.Context) error {
	if fresh(d.parquet) && fresh(d.csv) && d.count(ctx) == d.rows {
		return nil
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	query := strings.Replace(orders, "ROWS", strconv.Itoa(d.rows), 1)
	if _, err := db.ExecContext(ctx, fmt.Sprintf("COPY (%s) TO %s (%s)", query, engine.QuoteString(d.parquet), engine.ParquetOptions)); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, fmt.Sprintf("COPY (SELECT * FROM %s) TO %s (FORMAT csv, HEADER)", engine.ReadParquet(d.parquet), engine.QuoteString(d.csv)))
	return err
}

func fresh(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Size() > 0
}

func (d dataset) count(ctx context.Context) int {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return -1
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+engine.ReadParquet(d.parquet)).Scan(&n); err != nil {
		return -1
	}
	return n
}
