package cli

import (
	"math/big"
	"strings"

	"github.com/marcboeker/go-duckdb"
)

// formatDecimal writes a DuckDB DECIMAL exactly, as SQL prints it:
// 35203.40, -0.05.
func formatDecimal(d duckdb.Decimal) string {
	if d.Value == nil {
		return ""
	}
	digits := new(big.Int).Abs(d.Value).String()
	sign := ""
	if d.Value.Sign() < 0 {
		sign = "-"
	}
	scale := int(d.Scale)
	if scale == 0 {
		return sign + digits
	}
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	return sign + digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
}
