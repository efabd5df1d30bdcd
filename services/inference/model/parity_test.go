package model

import (
	"bytes"
	"encoding/csv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tolerance is how close fusion's predictions must be to the reference
// library's own.
const tolerance = 1e-6

// readFixture reads a CSV of features (and reference columns); empty cells
// are missing values (NaN).
func readFixture(t testing.TB, path string) (header []string, rows [][]float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs[1:] {
		row := make([]float64, len(rec))
		for i, v := range rec {
			if v == "" {
				row[i] = math.NaN()
				continue
			}
			if row[i], err = strconv.ParseFloat(v, 64); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		rows = append(rows, row)
	}
	return recs[0], rows
}

func loadModel(t *testing.T, dir string) (Meta, Predictor) {
	t.Helper()
	metaBytes, err := os.ReadFile(filepath.Join(dir, "model.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := ParseMeta(metaBytes)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, meta.File))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := Load(meta, f)
	if err != nil {
		t.Fatal(err)
	}
	return meta, p
}

func column(header []string, name string) int {
	for i, h := range header {
		if h == name {
			return i
		}
	}
	return -1
}

// TestChurnModelsMatchReference scores the committed churn models on rows
// of the sample (missing values included) and compares with the
// predictions lightgbm and xgboost made for the same rows.
func TestChurnModelsMatchReference(t *testing.T) {
	header, rows := readFixture(t, "testdata/churn_features.csv")
	for _, name := range []string{"churn_lgbm", "churn_xgb"} {
		t.Run(name, func(t *testing.T) {
			meta, p := loadModel(t, filepath.Join("..", "..", "..", "deploy", "models", name, "1"))
			idx := make([]int, len(meta.Features))
			for i, f := range meta.Features {
				if idx[i] = column(header, f); idx[i] < 0 {
					t.Fatalf("fixture lacks feature %s", f)
				}
			}
			ref := column(header, name)
			features := make([]float64, 0, len(rows)*len(idx))
			missing := 0
			for _, r := range rows {
				for _, i := range idx {
					features = append(features, r[i])
					if math.IsNaN(r[i]) {
						missing++
					}
				}
			}
			if missing == 0 {
				t.Fatal("the fixture has no missing values to exercise")
			}
			n := len(idx)
			out := make([]float64, len(rows))
			for i := range rows {
				out[i] = p.Predict(features[i*n : (i+1)*n])
			}
			worst := 0.0
			for i, r := range rows {
				worst = math.Max(worst, math.Abs(out[i]-r[ref]))
			}
			t.Logf("%d rows, max |fusion - %s| = %.3g", len(rows), meta.TrainedWith, worst)
			if worst > tolerance {
				t.Errorf("max difference %.3g exceeds %g", worst, tolerance)
			}
		})
	}
}

// TestXGBoostObjectives checks the evaluator on every objective and booster
// it supports, against XGBoost's own predictions.
func TestXGBoostObjectives(t *testing.T) {
	models, _ := filepath.Glob("testdata/xgboost/*.json")
	if len(models) < 10 {
		t.Fatalf("only %d XGBoost fixtures", len(models))
	}
	for _, path := range models {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			p, err := Load(Meta{Name: name, Version: "1", Format: FormatXGBoostJSON, File: path, Features: make([]string, 5)}, f)
			if err != nil {
				t.Fatal(err)
			}
			_, rows := readFixture(t, strings.TrimSuffix(path, ".json")+".csv")
			features := make([]float64, 0, len(rows)*5)
			for _, r := range rows {
				features = append(features, r[:5]...)
			}
			for i, r := range rows {
				out := p.Predict(features[i*5 : (i+1)*5])
				if d := math.Abs(out - r[5]); d > tolerance*math.Max(1, math.Abs(r[5])) {
					t.Fatalf("row %d: fusion %.9g, xgboost %.9g", i, out, r[5])
				}
			}
		})
	}
}

func TestRejectsWhatIsNotAModel(t *testing.T) {
	cases := map[string]struct{ format, body, want string }{
		"text as lightgbm":   {FormatLightGBM, "hello, I am a CSV\n1,2,3\n", "not a LightGBM text model"},
		"json as lightgbm":   {FormatLightGBM, `{"learner":{}}`, "not a LightGBM text model"},
		"csv as xgboost":     {FormatXGBoostJSON, "a,b\n1,2\n", "not an XGBoost JSON model"},
		"empty xgboost":      {FormatXGBoostJSON, `{"learner":{}}`, "not an XGBoost JSON model"},
		"multiclass xgboost": {FormatXGBoostJSON, `{"learner":{"learner_model_param":{"num_class":"3","num_feature":"2","base_score":"0.5"},"objective":{"name":"multi:softprob"},"gradient_booster":{"name":"gbtree"}}}`, "multi-class"},
		"linear xgboost":     {FormatXGBoostJSON, `{"learner":{"learner_model_param":{"num_class":"0","num_feature":"2","base_score":"0.5"},"objective":{"name":"reg:squarederror"},"gradient_booster":{"name":"gblinear"}}}`, "gblinear"},
		"truncated lightgbm": {FormatLightGBM, "tree\nversion=v4\nnum_class=1\n", "not a readable LightGBM model"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(Meta{Name: "m", Version: "1", Format: c.format, File: "m", Features: []string{"a", "b"}}, strings.NewReader(c.body))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestParseMeta(t *testing.T) {
	if _, err := ParseMeta([]byte("name: m\nversion: '1'\nformat: onnx\nfile: m.onnx\nfeatures: [a]\n")); err == nil || !strings.Contains(err.Error(), "format must be") {
		t.Errorf("onnx accepted: %v", err)
	}
	if _, err := ParseMeta([]byte("name: m\ncolour: red\n")); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("unknown field accepted: %v", err)
	}
}

// Damaged copies of the committed models, garbage bytes and JSON that is
// not a model are refused with an error naming the model and its file.
func TestRejectsDamagedModelFiles(t *testing.T) {
	lgbm, err := os.ReadFile("../../../deploy/models/churn_lgbm/1/model.txt")
	if err != nil {
		t.Fatal(err)
	}
	xgb, err := os.ReadFile("../../../deploy/models/churn_xgb/1/model.json")
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, 4096)
	rand.NewChaCha8([32]byte{1}).Read(garbage)
	features := make([]string, 10)
	cases := map[string]struct {
		format string
		body   []byte
		want   string
	}{
		"garbage as lightgbm":      {FormatLightGBM, garbage, "not a LightGBM text model"},
		"garbage as xgboost":       {FormatXGBoostJSON, garbage, "not an XGBoost JSON model"},
		"json object as xgboost":   {FormatXGBoostJSON, []byte(`{"name":"not a model","trees":[]}`), "not an XGBoost JSON model"},
		"json array as xgboost":    {FormatXGBoostJSON, []byte(`[1,2,3]`), "not an XGBoost JSON model"},
		"truncated xgboost":        {FormatXGBoostJSON, xgb[:len(xgb)/2], "not an XGBoost JSON model"},
		"lightgbm as xgboost":      {FormatXGBoostJSON, lgbm, "not an XGBoost JSON model"},
		"truncated lightgbm (10%)": {FormatLightGBM, lgbm[:len(lgbm)/10], "not a readable LightGBM model"},
		"truncated lightgbm (50%)": {FormatLightGBM, lgbm[:len(lgbm)/2], "not a readable LightGBM model"},
		"truncated lightgbm (end)": {FormatLightGBM, lgbm[:bytes.Index(lgbm, []byte("end of trees"))], "the file is truncated"},
	}
	for cut := 5; cut < bytes.Index(lgbm, []byte("end of trees")); cut += 997 {
		if _, err := Load(Meta{Name: "churn", Version: "7", Format: FormatLightGBM, File: "model.bin", Features: features}, bytes.NewReader(lgbm[:cut])); err == nil {
			t.Errorf("the LightGBM model cut at byte %d loads", cut)
		}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(Meta{Name: "churn", Version: "7", Format: c.format, File: "model.bin", Features: features}, bytes.NewReader(c.body))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "model churn@7 (model.bin)") {
				t.Errorf("got %v, want %q naming churn@7 (model.bin)", err, c.want)
			}
		})
	}
}
