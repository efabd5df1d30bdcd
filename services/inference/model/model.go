// Package model loads registered models and scores feature rows with them:
// LightGBM text models (compiled here into flat branch-free trees, checked
// against github.com/dmitryikh/leaves, which scores what they do not
// handle) and XGBoost JSON models (evaluated here, tree by tree, since
// leaves reads only XGBoost's binary format). Scores match the reference libraries' own
// predictions within 1e-6 (see the parity tests).
package model

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// Formats a model may be stored in.
const (
	FormatLightGBM    = "lightgbm"     // LightGBM's text format (save_model("m.txt"))
	FormatXGBoostJSON = "xgboost-json" // XGBoost >= 2's JSON format (save_model("m.json"))
)

// Meta is a registered model version's model.yaml.
type Meta struct {
	Name        string             `yaml:"name"`
	Version     string             `yaml:"version"`
	Format      string             `yaml:"format"`
	File        string             `yaml:"file"`
	Features    []string           `yaml:"features"`
	TrainedWith string             `yaml:"trained_with"`
	TrainedOn   string             `yaml:"trained_on"`
	Metrics     map[string]float64 `yaml:"metrics"`
}

// ParseMeta reads and checks a model.yaml.
func ParseMeta(data []byte) (Meta, error) {
	var m Meta
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("model.yaml: %w", err)
	}
	var errs []error
	if m.Name == "" || m.Version == "" {
		errs = append(errs, errors.New("name and version are required"))
	}
	if m.Format != FormatLightGBM && m.Format != FormatXGBoostJSON {
		errs = append(errs, fmt.Errorf("format must be %s or %s (got %q)", FormatLightGBM, FormatXGBoostJSON, m.Format))
	}
	if m.File == "" {
		errs = append(errs, errors.New("file is required"))
	}
	if len(m.Features) == 0 {
		errs = append(errs, errors.New("features must list the model's inputs in order"))
	}
	if err := errors.Join(errs...); err != nil {
		return m, fmt.Errorf("model.yaml: %w", err)
	}
	return m, nil
}

// Predictor scores rows of features.
type Predictor interface {
	// NumFeatures is the number of features per row.
	NumFeatures() int
	// Predict scores one row of NumFeatures values, NaN for a missing
	// value. It is safe for concurrent use: the engine calls it from
	// several threads at once.
	Predict(row []float64) float64
}

// BatchPredictor is a Predictor that also scores many rows in one call,
// faster than row by row.
type BatchPredictor interface {
	Predictor
	// PredictBatch scores len(out) rows given column by column: row i's
	// feature j is cols[j][i], NaN for a missing value. cols holds
	// NumFeatures() columns of at least len(out) values. out[i] is
	// exactly Predict(row i). It is safe for concurrent use.
	PredictBatch(cols [][]float64, out []float64)
}

// PredictBatch scores len(out) rows given column by column (as
// BatchPredictor's), with p's PredictBatch when it has one, else row by
// row.
func PredictBatch(p Predictor, cols [][]float64, out []float64) {
	if bp, ok := p.(BatchPredictor); ok {
		bp.PredictBatch(cols, out)
		return
	}
	row := make([]float64, len(cols))
	for i := range out {
		for j, c := range cols {
			row[j] = c[i]
		}
		out[i] = p.Predict(row)
	}
}

// Load reads a model in the given format and checks it takes the declared
// number of features.
func Load(meta Meta, r io.Reader) (Predictor, error) {
	var p Predictor
	var err error
	switch meta.Format {
	case FormatLightGBM:
		p, err = loadLightGBM(r)
	case FormatXGBoostJSON:
		p, err = loadXGBoostJSON(r)
	default:
		err = fmt.Errorf("unknown model format %q", meta.Format)
	}
	if err != nil {
		return nil, fmt.Errorf("model %s@%s (%s): %w", meta.Name, meta.Version, meta.File, err)
	}
	if p.NumFeatures() != len(meta.Features) {
		return nil, fmt.Errorf("model %s@%s takes %d features, model.yaml lists %d", meta.Name, meta.Version, p.NumFeatures(), len(meta.Features))
	}
	return p, nil
}
