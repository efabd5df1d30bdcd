package cli

import (
	"encoding/csv"
	"fmt"
	"strconv"
	"time"

	"github.com/marcboeker/go-duckdb"
	"github.com/spf13/cobra"

	"github.com/fusiondata/fusion/services/runtime/platform"
)

func (a *app) queryCmd() *cobra.Command {
	return &cobra.Command{
		Use:   `query "SQL"`,
		Short: "Query the warehouse and print the result as CSV",
		Long: `query runs a read-only SQL statement against the warehouse (FUSION_WAREHOUSE:
the home's DuckDB file by default, or Postgres or Snowflake) and prints the
result as CSV with a header line. On DuckDB it works while "fusion run" is
running: the warehouse file is opened between loads.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			wh, err := platform.OpenWarehouse(cmd.Context(), a.cfg)
			if err != nil {
				return err
			}
			defer wh.Close()
			w := csv.NewWriter(a.out)
			record := []string{}
			err = wh.Query(cmd.Context(), args[0], func(cols []string, row []any) error {
				if row == nil {
					return w.Write(cols)
				}
				record = record[:0]
				for _, v := range row {
					record = append(record, formatValue(v))
				}
				return w.Write(record)
			})
			w.Flush()
			if err != nil {
				return err
			}
			return w.Error()
		},
	}
}

// formatValue renders a SQL value for CSV: NULL as empty, times as RFC 3339,
// floats in their shortest exact form.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case duckdb.Decimal:
		return formatDecimal(x) // decimal.go
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format("2006-01-02")
		}
		return x.Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}
