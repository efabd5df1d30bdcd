package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/dmitryikh/leaves"
)

// lgbParityTolerance is how far a compiled score may be from leaves' before
// the model is scored with leaves instead. Both sum the same leaf values in
// the same order, so in practice they are equal.
const lgbParityTolerance = 1e-12

// errLGBDisagrees marks a compiled model that does not score as leaves
// does; leaves scores it.
var errLGBDisagrees = errors.New("the compiled evaluator disagrees with leaves")

// lgbRandomProbes is how many seeded random rows verifyLightGBM adds to
// the boundary probes.
const lgbRandomProbes = 2000

// verifyLightGBM scores probe rows with the compiled model (Predict and
// PredictBatch) and with leaves, the reference, and returns an error naming
// the first row on which they differ by more than lgbParityTolerance.
//
// The probes are where evaluators disagree first: for every feature, each
// threshold it is split on, the threshold's two float neighbours
// (math.Nextafter), NaN, 0, -0, +-1e300 and the edges of LightGBM's zero
// band, each set into a row whose other features are drawn from the same
// values; then lgbRandomProbes rows mixing those values, uniform values
// around the thresholds and NaNs. The seed is fixed: a model gets the same
// verdict on every load.
func verifyLightGBM(c *lgbCompiled, ref *leaves.Ensemble) error {
	rows := lgbProbeRows(c)
	cols := make([][]float64, c.nf)
	for f := range cols {
		cols[f] = make([]float64, len(rows))
		for i, r := range rows {
			cols[f][i] = r[f]
		}
	}
	batch := make([]float64, len(rows))
	c.PredictBatch(cols, batch)
	for i, r := range rows {
		want := ref.PredictSingle(r, 0)
		for _, got := range []struct {
			how string
			v   float64
		}{{"Predict", c.Predict(r)}, {"PredictBatch", batch[i]}} {
			if got.v != want && !(math.Abs(got.v-want) <= lgbParityTolerance) {
				return fmt.Errorf("%w: compiled %s scores probe row %v as %.17g, leaves as %.17g", errLGBDisagrees, got.how, r, got.v, want)
			}
		}
	}
	return nil
}

func lgbProbeRows(c *lgbCompiled) [][]float64 {
	zero := lgbZeroThreshold
	edges := []float64{math.NaN(), 0, math.Copysign(0, -1), 1e300, -1e300,
		zero, -zero, math.Nextafter(zero, 1), math.Nextafter(-zero, -1), 1e-35, -1e-35}
	values := make([][]float64, c.nf)
	lo, hi := make([]float64, c.nf), make([]float64, c.nf)
	for f := range values {
		values[f] = append([]float64(nil), edges...)
		lo[f], hi[f] = -1, 1
	}
	for _, n := range c.nodes {
		if n.slot == 0 {
			continue // a leaf
		}
		f := c.slots[n.slot].feature
		values[f] = append(values[f], n.thr, math.Nextafter(n.thr, math.Inf(-1)), math.Nextafter(n.thr, math.Inf(1)))
		lo[f], hi[f] = math.Min(lo[f], n.thr-1), math.Max(hi[f], n.thr+1)
	}
	rng := rand.New(rand.NewPCG(0x1f, 0x6b))
	pick := func(f int) float64 { return values[f][rng.IntN(len(values[f]))] }
	var rows [][]float64
	for f := range values {
		for _, v := range values[f] {
			row := make([]float64, c.nf)
			for g := range row {
				row[g] = pick(g)
			}
			row[f] = v
			rows = append(rows, row)
		}
	}
	for range lgbRandomProbes {
		row := make([]float64, c.nf)
		for f := range row {
			switch p := rng.Float64(); {
			case p < 0.4:
				row[f] = pick(f)
			case p < 0.9:
				row[f] = lo[f] + rng.Float64()*(hi[f]-lo[f])
			default:
				row[f] = math.NaN()
			}
		}
		rows = append(rows, row)
	}
	return rows
}
