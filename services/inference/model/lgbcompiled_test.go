package model

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dmitryikh/leaves"
)

const churnLGBM = "../../../deploy/models/churn_lgbm/1/model.txt"

func readLeaves(t testing.TB, body []byte) *leaves.Ensemble {
	t.Helper()
	body = bytes.Replace(body, []byte("\nversion=v4\n"), []byte("\nversion=v3\n"), 1)
	e, err := leaves.LGEnsembleFromReader(bufio.NewReader(bytes.NewReader(body)), true)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func loadLGB(t testing.TB, body []byte, nf int) Predictor {
	t.Helper()
	p, err := Load(Meta{Name: "m", Version: "1", Format: FormatLightGBM, File: "model.txt", Features: make([]string, nf)}, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// columns turns rows into PredictBatch's columns.
func columns(rows [][]float64, nf int) [][]float64 {
	cols := make([][]float64, nf)
	for j := range cols {
		cols[j] = make([]float64, len(rows))
		for i, r := range rows {
			cols[j][i] = r[j]
		}
	}
	return cols
}

// TestLightGBMChurnIsCompiled loads the committed churn model onto the
// compiled path and holds it to leaves bit for bit on the fixture's rows
// and on 100k random rows (NaNs, the model's thresholds and their float
// neighbours, values in and around the features' ranges), through both
// Predict and PredictBatch (100k rows: many blocks and a ragged tail).
func TestLightGBMChurnIsCompiled(t *testing.T) {
	body, err := os.ReadFile(churnLGBM)
	if err != nil {
		t.Fatal(err)
	}
	p := loadLGB(t, body, 10)
	c, ok := p.(*lgbCompiled)
	if !ok {
		t.Fatalf("the churn model is scored by %v, want the compiled evaluator", p)
	}
	t.Log(c)
	ref := readLeaves(t, body)

	header, fixture := readFixture(t, "testdata/churn_features.csv")
	meta, _ := loadModel(t, filepath.Dir(churnLGBM))
	rows := make([][]float64, 0, len(fixture)+100_000)
	for _, r := range fixture {
		row := make([]float64, len(meta.Features))
		for j, f := range meta.Features {
			row[j] = r[column(header, f)]
		}
		rows = append(rows, row)
	}
	var thresholds []float64
	for _, n := range c.nodes {
		if n.slot != 0 {
			thresholds = append(thresholds, n.thr, math.Nextafter(n.thr, 1e308), math.Nextafter(n.thr, -1e308))
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	nans := 0
	for range 100_000 {
		base := rows[rng.IntN(len(fixture))]
		row := make([]float64, len(base))
		for j := range row {
			switch p := rng.Float64(); {
			case p < 0.15:
				row[j] = math.NaN()
				nans++
			case p < 0.45:
				row[j] = thresholds[rng.IntN(len(thresholds))]
			case p < 0.75:
				row[j] = base[j]
			default:
				row[j] = (rng.Float64() - 0.3) * 200
			}
		}
		rows = append(rows, row)
	}
	batch := make([]float64, len(rows))
	c.PredictBatch(columns(rows, 10), batch)
	for i, r := range rows {
		want := ref.PredictSingle(r, 0)
		if got := c.Predict(r); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("row %d %v: Predict %.17g, leaves %.17g", i, r, got, want)
		}
		if math.Float64bits(batch[i]) != math.Float64bits(want) {
			t.Fatalf("row %d %v: PredictBatch %.17g, leaves %.17g", i, r, batch[i], want)
		}
	}
	t.Logf("%d rows (%d NaN values): compiled == leaves bit for bit", len(rows), nans)
}

// lgbFixture is a model of testdata/lightgbm with its rows and
// lightgbm's own predictions (scripts/models/lgb_fixtures.py).
type lgbFixture struct {
	name string
	body []byte
	rows [][]float64
	want []float64
}

func lgbFixtures(t *testing.T) []lgbFixture {
	models, _ := filepath.Glob("testdata/lightgbm/*.txt")
	if len(models) < 8 {
		t.Fatalf("only %d LightGBM fixtures", len(models))
	}
	var out []lgbFixture
	for _, path := range models {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, rows := readFixture(t, strings.TrimSuffix(path, ".txt")+".csv")
		f := lgbFixture{name: strings.TrimSuffix(filepath.Base(path), ".txt"), body: body}
		for _, r := range rows {
			f.rows = append(f.rows, lightgbmInput(r[:5]))
			f.want = append(f.want, r[5])
		}
		out = append(out, f)
	}
	return out
}

// lightgbmInput is a row as LightGBM's trees see it: its predict API (the
// C API's dense row functions) keeps only values with |x| > kZeroThreshold
// or NaN and reads the rest as 0. Neither evaluator here does that, so the
// fixture's probes in (0, kZeroThreshold] are given to them as 0 too.
func lightgbmInput(row []float64) []float64 {
	out := make([]float64, len(row))
	for i, x := range row {
		if math.IsNaN(x) || math.Abs(x) > lgbZeroThreshold {
			out[i] = x
		}
	}
	return out
}

func checkScores(t *testing.T, how string, got, want []float64, rows [][]float64) {
	t.Helper()
	worst := 0.0
	for i := range want {
		d := math.Abs(got[i] - want[i])
		if !(d <= tolerance*math.Max(1, math.Abs(want[i]))) {
			t.Fatalf("%s: row %d %v: %.17g, lightgbm %.17g", how, i, rows[i], got[i], want[i])
		}
		worst = math.Max(worst, d)
	}
	t.Logf("%s: %d rows, max |fusion - lightgbm| = %.3g", how, len(want), worst)
}

// TestLightGBMFixtures scores every fixture through Load and checks it
// lands on the expected evaluator and matches lightgbm, boundary probes
// included. Models with categorical splits or average_output fall back to
// leaves and still score correctly; so does the zero-as-missing model,
// whose splits at +-kZeroThreshold leaves reads differently (see
// TestLightGBMDisagreementFallsBack).
func TestLightGBMFixtures(t *testing.T) {
	byLeaves := map[string]struct {
		why    error
		reason string
	}{
		"categorical":     {errLGBUnsupported, "categorical split"},
		"random_forest":   {errLGBUnsupported, "average_output"},
		"zero_as_missing": {errLGBDisagrees, "leaves as"},
	}
	for _, f := range lgbFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			p := loadLGB(t, f.body, 5)
			got := make([]float64, len(f.rows))
			for i, r := range f.rows {
				got[i] = p.Predict(r)
			}
			checkScores(t, "Predict", got, f.want, f.rows)
			clear(got)
			PredictBatch(p, columns(f.rows, 5), got)
			checkScores(t, "PredictBatch", got, f.want, f.rows)
			lg, isLeaves := p.(lightGBM)
			if want, ok := byLeaves[f.name]; ok {
				if !isLeaves || !errors.Is(lg.why, want.why) || !strings.Contains(lg.why.Error(), want.reason) {
					t.Fatalf("scored by %v, want leaves (%v: %s)", p, want.why, want.reason)
				}
				return
			}
			if isLeaves {
				t.Fatalf("scored by %v, want the compiled evaluator", p)
			}
		})
	}
}

// TestLightGBMCompiledRules holds the compiled evaluator itself (no
// fallback) to lightgbm on every fixture it compiles, so each missing-value
// rule (NaN, Zero incl. the zero band's edges, None) and output transform is
// checked against the reference library.
func TestLightGBMCompiledRules(t *testing.T) {
	rules := map[int]bool{}
	for _, f := range lgbFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			text, err := parseLightGBMText(f.body)
			if err != nil {
				t.Fatal(err)
			}
			c, err := compileLightGBM(text)
			if errors.Is(err, errLGBUnsupported) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, tree := range text.trees {
				if v, ok := tree.fields["decision_type"]; ok {
					for _, d := range strings.Fields(v) {
						n, _ := strconv.Atoi(d)
						rules[n>>2&3] = true
					}
				}
			}
			got := make([]float64, len(f.rows))
			for i, r := range f.rows {
				got[i] = c.Predict(r)
			}
			checkScores(t, "Predict", got, f.want, f.rows)
			c.PredictBatch(columns(f.rows, 5), got)
			checkScores(t, "PredictBatch", got, f.want, f.rows)
		})
	}
	if !rules[0] || !rules[1] || !rules[2] {
		t.Errorf("the fixtures exercise missing types %v, want None, Zero and NaN", rules)
	}
}

// A model on which the compiled evaluator and leaves disagree is scored by
// leaves. The two read the zero band of a Zero-missing split differently:
// leaves takes (-1e-35, 1e-35], LightGBM [-kZeroThreshold, kZeroThreshold]
// with kZeroThreshold = float32(1e-35), and such splits sit at
// +-kZeroThreshold, so the probes at those thresholds tell them apart.
func TestLightGBMDisagreementFallsBack(t *testing.T) {
	body, err := os.ReadFile("testdata/lightgbm/zero_as_missing.txt")
	if err != nil {
		t.Fatal(err)
	}
	p := loadLGB(t, body, 5)
	lg, ok := p.(lightGBM)
	if !ok || !errors.Is(lg.why, errLGBDisagrees) {
		t.Fatalf("scored by %v, want leaves after a disagreement", p)
	}
	t.Log(lg)
	c, err := compileLightGBMText(body)
	if err != nil {
		t.Fatal(err)
	}
	ref := readLeaves(t, body)
	differ := 0
	for _, row := range lgbProbeRows(c) {
		if p.Predict(row) != ref.PredictSingle(row, 0) {
			t.Fatalf("%v: the loaded model does not score as leaves", row)
		}
		if c.Predict(row) != ref.PredictSingle(row, 0) {
			differ++
			if !slices.ContainsFunc(row, bandsDisagree) {
				t.Errorf("%v: compiled and leaves differ, and no value is where their zero bands do", row)
			}
		}
	}
	if differ == 0 {
		t.Error("no probe tells the evaluators apart")
	}
}

// bandsDisagree is whether x is in LightGBM's zero band but not leaves', or
// the other way round.
func bandsDisagree(x float64) bool {
	lightgbm := x >= -lgbZeroThreshold && x <= lgbZeroThreshold
	leaves := x > -1e-35 && x <= 1e-35
	return lightgbm != leaves
}

// verifyLightGBM notices a compiled model that scores differently.
func TestLightGBMVerifyCatchesDifferences(t *testing.T) {
	body, err := os.ReadFile(churnLGBM)
	if err != nil {
		t.Fatal(err)
	}
	text, err := parseLightGBMText(body)
	if err != nil {
		t.Fatal(err)
	}
	ref := readLeaves(t, body)
	for name, damage := range map[string]func(c *lgbCompiled){
		"threshold one ulp up": func(c *lgbCompiled) { c.nodes[0].thr = math.Nextafter(c.nodes[0].thr, 1e308) },
		"NaN side flipped": func(c *lgbCompiled) {
			s := &c.slots[c.nodes[0].slot]
			s.miss = -s.miss
		},
		"leaf value off by 1e-11": func(c *lgbCompiled) {
			for i := range c.nodes {
				if c.nodes[i].slot == 0 {
					c.nodes[i].thr += 1e-11
					return
				}
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := compileLightGBM(text)
			if err != nil {
				t.Fatal(err)
			}
			if err := verifyLightGBM(c, ref); err != nil {
				t.Fatalf("the intact model fails verification: %v", err)
			}
			damage(c)
			c.row, c.block = c.lower(8), c.lower(8*lgbBlock)
			if err := verifyLightGBM(c, ref); !errors.Is(err, errLGBDisagrees) {
				t.Fatalf("got %v, want a disagreement", err)
			}
		})
	}
}

// editFirst rewrites the values of the first "key=" line of a model and
// returns the new body and the line's number.
func editFirst(t *testing.T, body []byte, key string, edit func([]string) []string) ([]byte, int) {
	t.Helper()
	at := bytes.Index(body, []byte("\n"+key+"="))
	if at < 0 {
		t.Fatalf("no %s line", key)
	}
	start := at + len(key) + 2
	end := start + bytes.IndexByte(body[start:], '\n')
	values := strings.Join(edit(strings.Fields(string(body[start:end]))), " ")
	out := append(append(append([]byte(nil), body[:start]...), values...), body[end:]...)
	return out, bytes.Count(body[:at+1], []byte("\n")) + 1
}

// Damage leaves reads (or panics on) is refused, naming the line and field.
func TestLightGBMRefusesInconsistentTrees(t *testing.T) {
	body, err := os.ReadFile(churnLGBM)
	if err != nil {
		t.Fatal(err)
	}
	set := func(i int, v string) func([]string) []string {
		return func(f []string) []string { f[i] = v; return f }
	}
	cases := map[string]struct {
		key  string
		edit func([]string) []string
		want string
	}{
		"feature past max_feature_idx": {"split_feature", set(0, "12"), "split_feature: value 0: feature 12, the model has 10"},
		"child out of range":           {"left_child", set(0, "-300"), "left_child: value 0: -300 is out of range"},
		"a node reached twice":         {"left_child", set(0, "0"), "left_child: node 0 is reached twice"},
		"too few thresholds":           {"threshold", func(f []string) []string { return f[1:] }, "threshold: "},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			edited, line := editFirst(t, body, c.key, c.edit)
			_, err := Load(Meta{Name: "churn", Version: "7", Format: FormatLightGBM, File: "model.txt", Features: make([]string, 10)}, bytes.NewReader(edited))
			want := fmt.Sprintf("model churn@7 (model.txt): not a readable LightGBM model: line %d: %s", line, c.want)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v, want %q", err, want)
			}
		})
	}
}
