package handler

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// Manifest describes a training set. It is deterministic: the same input
// always gives the same manifest.
type Manifest struct {
	Pipeline string                 `json:"pipeline"`
	RunID    string                 `json:"run_id"`
	Input    ManifestInput          `json:"input"`
	Key      string                 `json:"key"`
	Label    string                 `json:"label"`
	Features []string               `json:"features"`
	Split    SplitRule              `json:"split"`
	Splits   map[string]*SplitStats `json:"splits"`
}

// ManifestInput names the dataset the training set was built from.
type ManifestInput struct {
	Name    string   `json:"name"`
	Objects []string `json:"objects"`
	Rows    int64    `json:"rows"`
}

// SplitRule documents how rows were assigned, so anyone can reproduce it.
type SplitRule struct {
	Method    string             `json:"method"`
	Fractions map[string]float64 `json:"fractions"`
}

// SplitStats describes one split.
type SplitStats struct {
	Rows        int64                    `json:"rows"`
	Object      string                   `json:"object"`
	LabelCounts map[string]int64         `json:"label_counts"`
	Features    map[string]*FeatureStats `json:"features"`
}

// FeatureStats are one feature's statistics within a split. Mean and
// stddev are for numeric features only.
type FeatureStats struct {
	Type   string   `json:"type"`
	Count  int64    `json:"count"`
	Nulls  int64    `json:"nulls"`
	Min    any      `json:"min"`
	Max    any      `json:"max"`
	Mean   *float64 `json:"mean,omitempty"`
	Stddev *float64 `json:"stddev,omitempty"`
}

func buildManifest(ctx context.Context, conn *sql.Conn, p *pipeline.Pipeline, run messages.RunRef, input messages.DatasetRef,
	refs map[string]*messages.DatasetRef, schema []messages.Column) (*Manifest, error) {
	t := p.Training
	m := &Manifest{
		Pipeline: p.Name, RunID: run.RunID,
		Input: ManifestInput{Name: input.Name, Objects: input.Objects, Rows: input.Rows},
		Key:   t.Key, Label: t.Label, Features: t.Features,
		Split: SplitRule{
			Method:    "first 32 bits of md5(key as text) / 2^32, cut at the cumulative fractions in the order train, validation, test",
			Fractions: map[string]float64{"train": t.Split.Train, "validation": t.Split.Validation, "test": t.Split.Test},
		},
		Splits: map[string]*SplitStats{},
	}
	for _, s := range Splits {
		m.Splits[s] = &SplitStats{Rows: refs[s].Rows, Object: refs[s].Objects[0], LabelCounts: map[string]int64{}, Features: map[string]*FeatureStats{}}
	}

	label := engine.QuoteIdent(t.Label)
	rows, err := conn.QueryContext(ctx, fmt.Sprintf("SELECT __split, CAST(%s AS VARCHAR), count(*) FROM labeled GROUP BY ALL", label))
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var split string
		var value sql.NullString
		var n int64
		if err := rows.Scan(&split, &value, &n); err != nil {
			rows.Close()
			return nil, err
		}
		v := "null"
		if value.Valid {
			v = value.String
		}
		m.Splits[split].LabelCounts[v] = n
	}
	rows.Close()

	// One scan computes every feature's statistics for every split.
	types := map[string]string{}
	for _, c := range schema {
		types[c.Name] = c.Type
	}
	var aggs []string
	for _, f := range t.Features {
		q := engine.QuoteIdent(f)
		aggs = append(aggs, fmt.Sprintf("count(%s)", q), fmt.Sprintf("count(*) - count(%s)", q),
			fmt.Sprintf("CAST(min(%s) AS VARCHAR)", q), fmt.Sprintf("CAST(max(%s) AS VARCHAR)", q))
		if isNumeric(types[f]) {
			aggs = append(aggs, fmt.Sprintf("avg(%s)", q), fmt.Sprintf("stddev_samp(%s)", q))
		} else {
			aggs = append(aggs, "NULL::DOUBLE", "NULL::DOUBLE")
		}
	}
	rows, err = conn.QueryContext(ctx, fmt.Sprintf("SELECT __split, %s FROM labeled GROUP BY __split", strings.Join(aggs, ", ")))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type scanned struct {
		count, nulls int64
		lo, hi       sql.NullString
		mean, sd     sql.NullFloat64
	}
	for rows.Next() {
		var split string
		got := make([]scanned, len(t.Features))
		dest := []any{&split}
		for i := range got {
			g := &got[i]
			dest = append(dest, &g.count, &g.nulls, &g.lo, &g.hi, &g.mean, &g.sd)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		for i, f := range t.Features {
			g := got[i]
			fs := &FeatureStats{Type: types[f], Count: g.count, Nulls: g.nulls}
			if g.lo.Valid {
				fs.Min = typed(g.lo.String, fs.Type)
			}
			if g.hi.Valid {
				fs.Max = typed(g.hi.String, fs.Type)
			}
			if g.mean.Valid {
				fs.Mean = &g.mean.Float64
			}
			if g.sd.Valid {
				fs.Stddev = &g.sd.Float64
			}
			m.Splits[split].Features[f] = fs
		}
	}
	return m, rows.Err()
}

// typed keeps numbers as JSON numbers in the manifest.
func typed(s, sqlType string) any {
	if isNumeric(sqlType) {
		var f float64
		if _, err := fmt.Sscan(s, &f); err == nil {
			return f
		}
	}
	return s
}
