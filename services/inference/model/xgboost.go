package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// xgbModel evaluates an XGBoost JSON model. It reproduces XGBoost's
// arithmetic: features are compared as float32 with `value < threshold`,
// a missing value (NaN) follows the node's default branch, leaf values are
// summed in float32 onto the base margin, and the objective's transform
// turns the margin into a prediction.
type xgbModel struct {
	numFeature int
	baseMargin float32
	transform  func(float32) float64
	trees      []xgbTree
}

// xgbTree is a tree in flat arrays; node 0 is the root.
type xgbTree struct {
	left, right []int32
	feature     []int32
	threshold   []float32 // a leaf's value for leaves
	defaultLeft []bool
	weight      float32 // dart's weight_drop; 1 for gbtree
}

type xgbJSON struct {
	Learner struct {
		Param struct {
			BaseScore  string `json:"base_score"`
			NumClass   string `json:"num_class"`
			NumFeature string `json:"num_feature"`
			NumTarget  string `json:"num_target"`
		} `json:"learner_model_param"`
		Objective struct {
			Name string `json:"name"`
		} `json:"objective"`
		Booster json.RawMessage `json:"gradient_booster"`
	} `json:"learner"`
}

type xgbBooster struct {
	Name   string    `json:"name"`
	Model  *xgbTrees `json:"model"`
	GBTree *struct {
		Model *xgbTrees `json:"model"`
	} `json:"gbtree"`
	WeightDrop []float64 `json:"weight_drop"`
}

type xgbTrees struct {
	Trees []struct {
		Left        []int32   `json:"left_children"`
		Right       []int32   `json:"right_children"`
		SplitIndex  []int32   `json:"split_indices"`
		SplitCond   []float32 `json:"split_conditions"`
		DefaultLeft []int     `json:"default_left"`
		SplitType   []int     `json:"split_type"`
	} `json:"trees"`
}

func loadXGBoostJSON(r io.Reader) (Predictor, error) {
	var doc xgbJSON
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("not an XGBoost JSON model: %w", err)
	}
	l := doc.Learner
	if len(l.Booster) == 0 || l.Objective.Name == "" {
		return nil, errors.New("not an XGBoost JSON model: no learner.gradient_booster or objective")
	}
	if n, _ := strconv.Atoi(l.Param.NumClass); n > 1 {
		return nil, fmt.Errorf("multi-class models (%d classes) are not supported", n)
	}
	if n, _ := strconv.Atoi(l.Param.NumTarget); n > 1 {
		return nil, fmt.Errorf("multi-target models (%d targets) are not supported", n)
	}
	numFeature, err := strconv.Atoi(l.Param.NumFeature)
	if err != nil || numFeature <= 0 {
		return nil, fmt.Errorf("bad num_feature %q", l.Param.NumFeature)
	}
	base, err := parseBaseScore(l.Param.BaseScore)
	if err != nil {
		return nil, err
	}
	m := &xgbModel{numFeature: numFeature}
	m.baseMargin, m.transform, err = objective(l.Objective.Name, base)
	if err != nil {
		return nil, err
	}

	var b xgbBooster
	if err := json.Unmarshal(l.Booster, &b); err != nil {
		return nil, fmt.Errorf("gradient_booster: %w", err)
	}
	trees := b.Model
	switch b.Name {
	case "gbtree":
	case "dart":
		if b.GBTree != nil {
			trees = b.GBTree.Model
		}
	default:
		return nil, fmt.Errorf("booster %q is not supported (gbtree and dart are)", b.Name)
	}
	if trees == nil || len(trees.Trees) == 0 {
		return nil, errors.New("the model has no trees")
	}
	if b.Name == "dart" && len(b.WeightDrop) != len(trees.Trees) {
		return nil, fmt.Errorf("dart model has %d weights for %d trees", len(b.WeightDrop), len(trees.Trees))
	}
	for i, t := range trees.Trees {
		n := len(t.Left)
		if n == 0 || len(t.Right) != n || len(t.SplitIndex) != n || len(t.SplitCond) != n || len(t.DefaultLeft) != n {
			return nil, fmt.Errorf("tree %d: node arrays disagree in length", i)
		}
		tree := xgbTree{left: t.Left, right: t.Right, feature: t.SplitIndex, threshold: t.SplitCond, defaultLeft: make([]bool, n), weight: 1}
		if b.Name == "dart" {
			tree.weight = float32(b.WeightDrop[i])
		}
		for j := 0; j < n; j++ {
			tree.defaultLeft[j] = t.DefaultLeft[j] != 0
			if j < len(t.SplitType) && t.SplitType[j] != 0 && t.Left[j] != -1 {
				return nil, fmt.Errorf("tree %d uses categorical splits, which are not supported", i)
			}
			if t.Left[j] != -1 {
				if t.Left[j] <= 0 || int(t.Left[j]) >= n || t.Right[j] <= 0 || int(t.Right[j]) >= n {
					return nil, fmt.Errorf("tree %d: node %d has children out of range", i, j)
				}
				if t.SplitIndex[j] < 0 || int(t.SplitIndex[j]) >= numFeature {
					return nil, fmt.Errorf("tree %d: node %d splits on feature %d of %d", i, j, t.SplitIndex[j], numFeature)
				}
			}
		}
		m.trees = append(m.trees, tree)
	}
	return m, nil
}

// parseBaseScore reads "5E-1" or, from XGBoost 3, "[5E-1]".
func parseBaseScore(s string) (float32, error) {
	s = strings.Trim(strings.TrimSpace(s), "[]")
	if i := strings.IndexByte(s, ','); i >= 0 {
		s = s[:i]
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
	if err != nil {
		return 0, fmt.Errorf("bad base_score %q", s)
	}
	return float32(f), nil
}

// objective returns the base margin and output transform of an objective.
// The base score is stored in output space; XGBoost turns it into a margin
// with the objective's ProbToMargin.
func objective(name string, base float32) (float32, func(float32) float64, error) {
	identity := func(x float32) float64 { return float64(x) }
	sigmoid := func(x float32) float64 { return float64(float32(1 / (1 + math.Exp(-float64(x))))) }
	exp := func(x float32) float64 { return float64(float32(math.Exp(float64(x)))) }
	switch name {
	case "binary:logistic", "reg:logistic":
		return float32(-math.Log(1/float64(base) - 1)), sigmoid, nil
	case "binary:logitraw", "reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror", "reg:quantileerror":
		return base, identity, nil
	case "count:poisson", "reg:gamma", "reg:tweedie":
		return float32(math.Log(float64(base))), exp, nil
	}
	return 0, nil, fmt.Errorf("objective %q is not supported", name)
}

func (m *xgbModel) NumFeatures() int { return m.numFeature }

func (m *xgbModel) Predict(row []float64) float64 {
	var buf [64]float32
	x := buf[:0]
	if m.numFeature > len(buf) {
		x = make([]float32, 0, m.numFeature)
	}
	for _, v := range row[:m.numFeature] {
		x = append(x, float32(v)) // XGBoost compares features as float32
	}
	margin := m.baseMargin
	for t := range m.trees {
		margin += m.trees[t].weight * m.trees[t].leaf(x)
	}
	return m.transform(margin)
}

func (t *xgbTree) leaf(row []float32) float32 {
	n := int32(0)
	for t.left[n] != -1 {
		v := row[t.feature[n]]
		switch {
		case v != v: // NaN: missing
			if t.defaultLeft[n] {
				n = t.left[n]
			} else {
				n = t.right[n]
			}
		case v < t.threshold[n]:
			n = t.left[n]
		default:
			n = t.right[n]
		}
	}
	return t.threshold[n]
}
