package model

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/dmitryikh/leaves"
)

// lightGBM scores with leaves, one row at a time: the models the compiled
// evaluator does not handle or disagrees on.
type lightGBM struct {
	e   *leaves.Ensemble
	why error // why the compiled evaluator is not used
}

// loadLightGBM reads a LightGBM text model with leaves, the reference, and
// compiles the same bytes (lgbCompiled), then checks the compiled model
// against leaves on probe rows built from the model's own thresholds (each
// threshold, its math.Nextafter neighbours, NaN, 0, +-1e300) and seeded
// random rows (verifyLightGBM). The compiled model scores only if every
// probe's score is within 1e-12 of leaves'; a model it does not handle
// (categorical splits, average_output, another objective) or any
// difference keeps leaves. A model whose trees are inconsistent (lists of
// the wrong length, a child or feature out of range) is refused.
func loadLightGBM(r io.Reader) (Predictor, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	// leaves answers a non-model file with a vague error; check the header.
	if !bytes.HasPrefix(body, []byte("tree\n")) && !bytes.HasPrefix(body, []byte("tree\r\n")) {
		return nil, errors.New("not a LightGBM text model (it must start with \"tree\")")
	}
	// leaves reads the trees a truncated file still holds; LightGBM ends
	// them with a marker.
	if !bytes.Contains(body, []byte("\nend of trees")) {
		return nil, errors.New("not a readable LightGBM model: the file is truncated (no \"end of trees\")")
	}
	// LightGBM 4 writes version=v4; its tree format is v3's plus linear
	// trees, which leaves cannot evaluate. Without linear trees, v4 reads
	// as v3 (the parity tests hold fusion to lightgbm's own predictions).
	if bytes.Contains(body, []byte("\nis_linear=1")) {
		return nil, errors.New("linear trees (linear_tree=true) are not supported")
	}
	body = bytes.Replace(body, []byte("\nversion=v4\n"), []byte("\nversion=v3\n"), 1)
	// Compile first: leaves panics on, or reads and later fails on, some
	// damaged models (a list shorter than num_leaves, a child or feature
	// out of range), which the compiler refuses naming the line.
	c, cerr := compileLightGBMText(body)
	if cerr != nil && !errors.Is(cerr, errLGBUnsupported) {
		return nil, fmt.Errorf("not a readable LightGBM model: %w", cerr)
	}
	e, err := readLeavesEnsemble(body)
	if err != nil {
		return nil, fmt.Errorf("not a readable LightGBM model: %w", err)
	}
	if e.NOutputGroups() != 1 {
		return nil, fmt.Errorf("multi-class LightGBM models (%d classes) are not supported", e.NOutputGroups())
	}
	if cerr == nil {
		if cerr = agreesWithLeaves(c, e); cerr == nil {
			return c, nil
		}
	}
	return lightGBM{e, cerr}, nil
}

func compileLightGBMText(body []byte) (*lgbCompiled, error) {
	t, err := parseLightGBMText(body)
	if err != nil {
		return nil, err
	}
	return compileLightGBM(t)
}

func readLeavesEnsemble(body []byte) (e *leaves.Ensemble, err error) {
	defer func() {
		if p := recover(); p != nil {
			e, err = nil, fmt.Errorf("leaves: %v", p)
		}
	}()
	return leaves.LGEnsembleFromReader(bufio.NewReader(bytes.NewReader(body)), true)
}

func agreesWithLeaves(c *lgbCompiled, e *leaves.Ensemble) error {
	if len(c.roots) != e.NEstimators() {
		return fmt.Errorf("%w: %d trees, leaves read %d", errLGBDisagrees, len(c.roots), e.NEstimators())
	}
	return verifyLightGBM(c, e)
}

func (m lightGBM) String() string { return fmt.Sprintf("lightgbm via leaves (%v)", m.why) }

func (m lightGBM) NumFeatures() int { return m.e.NFeatures() }

func (m lightGBM) Predict(row []float64) float64 { return m.e.PredictSingle(row, 0) }
