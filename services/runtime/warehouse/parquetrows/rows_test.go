package parquetrows

import (
	"math/big"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

func TestDecimalString(t *testing.T) {
	big38, _ := new(big.Int).SetString("-12345678901234567890123456789", 10)
	cases := []struct {
		n     decimal128.Num
		scale int32
		want  string
	}{
		{decimal128.FromI64(12345), 2, "123.45"},
		{decimal128.FromI64(-5), 3, "-0.005"},
		{decimal128.FromI64(0), 2, "0.00"},
		{decimal128.FromI64(42), 0, "42"},
		{decimal128.FromI64(-9223372036854775808), 0, "-9223372036854775808"},
		{decimal128.FromU64(18446744073709551615), 1, "1844674407370955161.5"},
		{decimal128.FromBigInt(big38), 4, "-1234567890123456789012345.6789"},
	}
	for _, c := range cases {
		if got := decimalString(c.n, c.scale); got != c.want {
			t.Errorf("%v scale %d: %s, want %s", c.n, c.scale, got, c.want)
		}
	}
}
