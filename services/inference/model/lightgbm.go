package model

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/dmitryikh/leaves"
)

type lightGBM struct{ e *leaves.Ensemble }

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
	e, err := leaves.LGEnsembleFromReader(bufio.NewReader(bytes.NewReader(body)), true)
	if err != nil {
		return nil, fmt.Errorf("not a readable LightGBM model: %w", err)
	}
	if e.NOutputGroups() != 1 {
		return nil, fmt.Errorf("multi-class LightGBM models (%d classes) are not supported", e.NOutputGroups())
	}
	return lightGBM{e}, nil
}

func (m lightGBM) NumFeatures() int { return m.e.NFeatures() }

func (m lightGBM) Predict(row []float64) float64 { return m.e.PredictSingle(row, 0) }
