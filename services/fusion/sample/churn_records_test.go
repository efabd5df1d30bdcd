package sample

import (
	"encoding/json"
	"testing"
)

func TestChurnRecords(t *testing.T) {
	recs, err := ChurnRecords(1000, DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1000 {
		t.Fatalf("%d records", len(recs))
	}
	var first map[string]any
	if err := json.Unmarshal(recs[0], &first); err != nil {
		t.Fatal(err)
	}
	// The first customer of the CSV, as JSON.
	if first["customer_id"] != 100000.0 || first["signup_date"] != "2022-01-30" || first["country"] != "es" || first["plan"] != "basic" ||
		first["monthly_fee"] != 8.49 || first["churned"] != false || len(first) != 13 {
		t.Errorf("first record %v", first)
	}
	nulls := 0
	for _, r := range recs {
		var m map[string]any
		if err := json.Unmarshal(r, &m); err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if m["discount_pct"] == nil {
			nulls++
		}
	}
	if nulls == 0 || nulls == len(recs) {
		t.Errorf("%d of %d records without a discount", nulls, len(recs))
	}
	again, _ := ChurnRecords(1000, DefaultSeed)
	if string(again[999]) != string(recs[999]) {
		t.Error("the same seed gave other records")
	}
}
