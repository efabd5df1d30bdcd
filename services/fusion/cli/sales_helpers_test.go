package cli

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/services/fusion/sample"
)

// salesAggregates computes, from the generated till exports and
// independently of the pipeline's SQL, the rows sales_daily must hold:
// "day store sales returns units revenue", sorted.
func salesAggregates(t *testing.T, days, perDay int, seed uint64) []string {
	t.Helper()
	type agg struct{ sales, returns, units, cents int64 }
	sums := map[string]*agg{}
	for i := 0; i < days; i++ {
		var b bytes.Buffer
		if err := sample.SalesDay(&b, salesWeek.AddDate(0, 0, i), perDay, seed); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs[1:] {
			key := r[1][:10] + " " + strings.ToLower(strings.TrimSpace(r[2]))
			a := sums[key]
			if a == nil {
				a = &agg{}
				sums[key] = a
			}
			qty, _ := strconv.ParseInt(r[4], 10, 64)
			euros, cents, _ := strings.Cut(r[5], ".")
			e, _ := strconv.ParseInt(euros, 10, 64)
			c, _ := strconv.ParseInt(cents, 10, 64)
			if qty > 0 {
				a.sales++
			} else {
				a.returns++
			}
			a.units += qty
			a.cents += qty * (e*100 + c)
		}
	}
	var out []string
	for k, a := range sums {
		out = append(out, fmt.Sprintf("%s %d %d %d %d.%02d", k, a.sales, a.returns, a.units, a.cents/100, a.cents%100))
	}
	sort.Strings(out)
	return out
}

func salesTable(t *testing.T, home string) []string {
	t.Helper()
	var out []string
	for _, r := range query(t, home, "SELECT day, store, sales, returns, units, revenue FROM sales_daily ORDER BY day, store") {
		out = append(out, strings.Join(r, " "))
	}
	return out
}
