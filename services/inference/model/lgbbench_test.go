package model

import (
	"os"
	"path/filepath"
	"testing"
)

// benchRows are the churn fixture's rows (missing values included) in the
// churn model's feature order, repeated to 8192 rows.
func benchRows(b *testing.B) [][]float64 {
	header, fixture := readFixture(b, "testdata/churn_features.csv")
	body, err := os.ReadFile(filepath.Join(filepath.Dir(churnLGBM), "model.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	meta, err := ParseMeta(body)
	if err != nil {
		b.Fatal(err)
	}
	rows := make([][]float64, 0, 8192)
	for len(rows) < cap(rows) {
		r := fixture[len(rows)%len(fixture)]
		row := make([]float64, len(meta.Features))
		for j, f := range meta.Features {
			row[j] = r[column(header, f)]
		}
		rows = append(rows, row)
	}
	return rows
}

func benchChurn(b *testing.B) (*lgbCompiled, [][]float64, func(row []float64) float64) {
	body, err := os.ReadFile(churnLGBM)
	if err != nil {
		b.Fatal(err)
	}
	c, ok := loadLGB(b, body, 10).(*lgbCompiled)
	if !ok {
		b.Fatal("the churn model is not compiled")
	}
	ref := readLeaves(b, body)
	return c, benchRows(b), func(row []float64) float64 { return ref.PredictSingle(row, 0) }
}

// BenchmarkLightGBMLeaves scores the churn model with leaves, row by row
// (the evaluator before the compiled one).
func BenchmarkLightGBMLeaves(b *testing.B) {
	_, rows, leaves := benchChurn(b)
	benchRowByRow(b, rows, leaves)
}

// BenchmarkLightGBMCompiled scores the churn model with Predict, row by
// row (real-time scoring).
func BenchmarkLightGBMCompiled(b *testing.B) {
	c, rows, _ := benchChurn(b)
	benchRowByRow(b, rows, c.Predict)
}

// benchRowByRow scores every row with predict per iteration and reports
// the time per row.
func benchRowByRow(b *testing.B, rows [][]float64, predict func([]float64) float64) {
	sink := 0.0
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range rows {
			sink += predict(r)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
	_ = sink
}

// BenchmarkLightGBMCompiledBatch scores the churn model with PredictBatch
// (batch scoring's path), 8192 rows a call.
func BenchmarkLightGBMCompiledBatch(b *testing.B) {
	c, rows, _ := benchChurn(b)
	cols := columns(rows, c.NumFeatures())
	out := make([]float64, len(rows))
	b.ReportAllocs()
	for b.Loop() {
		c.PredictBatch(cols, out)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
}

// BenchmarkLightGBMLoad loads the churn model: leaves, the compiler and the
// check against leaves on the probe rows.
func BenchmarkLightGBMLoad(b *testing.B) {
	body, err := os.ReadFile(churnLGBM)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := loadLGB(b, body, 10).(*lgbCompiled); !ok {
			b.Fatal("the churn model is not compiled")
		}
	}
}
