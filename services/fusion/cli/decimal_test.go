package cli

import (
	"math/big"
	"testing"

	"github.com/marcboeker/go-duckdb"
)

func TestFormatDecimal(t *testing.T) {
	for want, d := range map[string]duckdb.Decimal{
		"35203.40": {Width: 38, Scale: 2, Value: big.NewInt(3520340)},
		"-0.05":    {Width: 10, Scale: 2, Value: big.NewInt(-5)},
		"0.007":    {Width: 10, Scale: 3, Value: big.NewInt(7)},
		"42":       {Width: 10, Scale: 0, Value: big.NewInt(42)},
	} {
		if got := formatValue(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}
