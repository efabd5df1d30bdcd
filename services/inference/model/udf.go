package model

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math"

	"github.com/marcboeker/go-duckdb"
)

// scoreFunc exposes a Predictor to DuckDB as a scalar function of
// NumFeatures DOUBLE arguments. NULL arguments reach the model as missing
// values (NaN) instead of making the score NULL.
type scoreFunc struct{ p Predictor }

func (f *scoreFunc) Config() duckdb.ScalarFuncConfig {
	double, _ := duckdb.NewTypeInfo(duckdb.TYPE_DOUBLE)
	in := make([]duckdb.TypeInfo, f.p.NumFeatures())
	for i := range in {
		in[i] = double
	}
	return duckdb.ScalarFuncConfig{InputTypeInfos: in, ResultTypeInfo: double, SpecialNullHandling: true}
}

func (f *scoreFunc) Executor() duckdb.ScalarFuncExecutor {
	n := f.p.NumFeatures()
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		var buf [64]float64
		row := buf[:0]
		if n > len(buf) {
			row = make([]float64, 0, n)
		}
		for _, v := range values {
			x, ok := v.(float64)
			if !ok {
				x = math.NaN()
			}
			row = append(row, x)
		}
		return f.p.Predict(row), nil
	}}
}

// RegisterSQL makes p callable as name(f1, ..., fn) in the database conn
// belongs to. DuckDB runs it inside its pipelines, in parallel and
// streaming, so scoring a dataset never holds it in memory.
func RegisterSQL(conn *sql.Conn, name string, p Predictor) error {
	if err := duckdb.RegisterScalarUDF(conn, name, &scoreFunc{p}); err != nil {
		return fmt.Errorf("register %s: %w", name, err)
	}
	return nil
}
