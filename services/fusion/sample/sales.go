package sample

import (
	"bufio"
	"io"
	"math/rand/v2"
	"strconv"
	"time"
)

// The sales sample: the till receipts of a chain of shops, one CSV file
// per day, as a point-of-sale export drops them — sale_id, sold_at,
// store, sku, quantity (negative for a return) and unit_price with two
// decimals. Each day is drawn from its own random stream (the seed and the
// date), so a day's file has the same bytes whichever days are written
// with it.
const SalesHeader = "sale_id,sold_at,store,sku,quantity,unit_price"

// SalesStores are the shops; a receipt spells its store in any case, with
// stray spaces, as tills do.
var SalesStores = []string{"lyon", "nantes", "paris", "toulouse"}

var (
	salesSKUs   = []string{"coffee-250g", "tea-100g", "mug", "kettle", "grinder"}
	salesPrices = []int64{790, 450, 1200, 3499, 5990} // cents
	salesWeight = []float64{0.4, 0.25, 0.2, 0.1, 0.05}
)

// SalesDay writes rows receipts of one day (from 08:00, every few seconds)
// as CSV, header first. Sale ids are the date and the receipt's number:
// 20261114000001.
func SalesDay(w io.Writer, day time.Time, rows int, seed uint64) error {
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	ymd := int64(day.Year()*10000 + int(day.Month())*100 + day.Day())
	rng := rand.New(rand.NewPCG(seed, uint64(ymd)))
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.WriteString(SalesHeader + "\n"); err != nil {
		return err
	}
	at := day.Add(8 * time.Hour)
	b := make([]byte, 0, 128)
	for i := 1; i <= rows; i++ {
		at = at.Add(time.Duration(1+rng.IntN(6)) * time.Second)
		store := SalesStores[rng.IntN(len(SalesStores))]
		switch rng.IntN(20) {
		case 0:
			store = " " + store
		case 1:
			store = "PARIS"
		}
		sku := pick(rng, salesWeight)
		qty := 1 + rng.IntN(3)
		if rng.IntN(25) == 0 {
			qty = -1 // a return
		}
		b = b[:0]
		b = strconv.AppendInt(b, ymd*1_000_000+int64(i), 10)
		b = append(b, ',')
		b = at.AppendFormat(b, "2006-01-02 15:04:05")
		b = append(b, ',')
		b = append(b, store...)
		b = append(b, ',')
		b = append(b, salesSKUs[sku]...)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(qty), 10)
		b = append(b, ',')
		b = appendCents(b, salesPrices[sku])
		b = append(b, '\n')
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func appendCents(b []byte, cents int64) []byte {
	b = strconv.AppendInt(b, cents/100, 10)
	b = append(b, '.')
	if c := cents % 100; c < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, cents%100, 10)
}
