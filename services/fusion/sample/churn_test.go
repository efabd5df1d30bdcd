package sample

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestChurnIsDeterministicAndWellFormed(t *testing.T) {
	var a, b bytes.Buffer
	if err := Churn(&a, 2000, DefaultSeed); err != nil {
		t.Fatal(err)
	}
	if err := Churn(&b, 2000, DefaultSeed); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same seed, different bytes")
	}
	var c bytes.Buffer
	Churn(&c, 2000, DefaultSeed+1)
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("different seeds, same bytes")
	}

	recs, err := csv.NewReader(bytes.NewReader(a.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2001 || strings.Join(recs[0], ",") != Header {
		t.Fatalf("%d records, header %v", len(recs), recs[0])
	}
	churned := 0
	for _, r := range recs[1:] {
		if r[12] == "true" {
			churned++
		}
		if _, err := strconv.ParseFloat(r[4], 64); err != nil {
			t.Fatalf("fee %q", r[4])
		}
	}
	// A realistic churn rate: neither trivial nor balanced.
	if rate := float64(churned) / 2000; rate < 0.1 || rate > 0.5 {
		t.Errorf("churn rate %.2f", rate)
	}
}

// The committed models were trained on the default sample; if this hash
// changes, retrain them (scripts/train-models.sh).
func TestDefaultSampleIsStable(t *testing.T) {
	var buf bytes.Buffer
	if err := Churn(&buf, DefaultRows, DefaultSeed); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%x", sha256.Sum256(buf.Bytes()))
	t.Logf("default sample sha256 %s (%d bytes)", got, buf.Len())
	if got != defaultSampleSHA256 {
		t.Errorf("default sample changed: sha256 %s, models were trained on %s", got, defaultSampleSHA256)
	}
}

const defaultSampleSHA256 = "18f07885ce04b74b15391c1aa0e0a41e083467fcb0d5ea194eafa41afbb860eb"
