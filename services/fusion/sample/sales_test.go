package sample

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"
)

func salesDay(t *testing.T, day time.Time, rows int, seed uint64) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := SalesDay(&b, day, rows, seed); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSalesDay(t *testing.T) {
	day := time.Date(2026, 11, 14, 13, 0, 0, 0, time.UTC) // the time of day does not matter
	a := salesDay(t, day, 500, 7)
	if !bytes.Equal(a, salesDay(t, day.Truncate(24*time.Hour), 500, 7)) {
		t.Error("the same day and seed gave other bytes")
	}
	if bytes.Equal(a, salesDay(t, day.AddDate(0, 0, 1), 500, 7)) || bytes.Equal(a, salesDay(t, day, 500, 8)) {
		t.Error("another day or seed gave the same bytes")
	}
	recs, err := csv.NewReader(bytes.NewReader(a)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != SalesHeader || len(recs) != 501 {
		t.Fatalf("header %v, %d records", recs[0], len(recs))
	}
	if recs[1][0] != "20261114000001" || !strings.HasPrefix(recs[1][1], "2026-11-14 08:00:0") {
		t.Errorf("first receipt %v", recs[1])
	}
	returns, spaced := 0, 0
	for _, r := range recs[1:] {
		if r[4] == "-1" {
			returns++
		}
		if strings.TrimSpace(r[2]) != r[2] {
			spaced++
		}
		if !strings.HasPrefix(r[1], "2026-11-14 ") {
			t.Fatalf("receipt of another day: %v", r)
		}
	}
	if returns == 0 || spaced == 0 {
		t.Errorf("%d returns, %d stores with spaces: the sample exercises neither", returns, spaced)
	}
}
