package model

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// lgbCompiled evaluates a LightGBM model compiled into one flat array of
// 16-byte nodes, with LightGBM's own numerical decision rule (tree.h,
// NumericalDecision): a NaN becomes 0.0 unless the node's missing type is
// NaN; a NaN (missing type NaN) or a value in [-kZeroThreshold,
// kZeroThreshold] (missing type Zero) takes the node's default side;
// otherwise x <= threshold goes left.
//
// Compiling folds every rule into a single comparison: each feature gets
// a "slot" per missing-value treatment its nodes use, the row's value with
// the missing values already replaced by +Inf (they go right) or -Inf
// (they go left). A node then sends x to its right child iff slot > thr,
// and its children sit side by side, so the next node is left+(x > thr):
// no branch to mispredict. A leaf points at itself and reads a slot that
// is always -Inf, so every tree can take as many steps as its deepest
// leaf needs, and several trees (Predict) or rows (PredictBatch) walk in
// lockstep, which lets the CPU overlap their memory loads (lgbeval.go).
//
// Scores are summed in tree order and transformed as leaves does, so they
// equal leaves' bit for bit; loadLightGBM still checks that on probe rows.
//
// Like leaves, it applies the tree rule to the value given. LightGBM's
// predict API first reads any |x| <= kZeroThreshold as 0 (its C API keeps
// only larger values); that only matters for a 0 < |x| <= 1e-35 input.
type lgbCompiled struct {
	nodes   []lgbNode
	roots   []uint32
	depths  []int    // per tree: steps from the root to its deepest leaf
	group   []int    // per group of lgbLanes trees: their greatest depth
	padded  []uint32 // roots, the last repeated to fill the last group
	slots   []lgbSlot
	row     []lgbStep // nodes lowered for Predict (lgbeval.go)
	block   []lgbStep // nodes lowered for PredictBatch
	nf      int
	output  lgbOutput
	nLeaves int
}

// lgbNode is a split or a leaf. A split sends the row to left when
// x[slot] <= thr (or x is NaN after the slot's replacement: never) and to
// left+1 otherwise. A leaf has slot 0 (always -Inf), left = itself, and
// thr = its value.
type lgbNode struct {
	thr  float64
	slot uint32
	left uint32
}

// lgbSlot is one input of the compiled trees: a feature with its missing
// values (NaN, and for zero-as-missing the zero band) replaced by miss.
type lgbSlot struct {
	feature  int
	zeroBand bool
	miss     float64 // +Inf (missing goes right) or -Inf (left)
}

type lgbOutput int

const (
	outputRaw     lgbOutput = iota // regression*
	outputSigmoid                  // binary sigmoid:1
	outputExp                      // poisson, gamma, tweedie
)

// lgbZeroThreshold is LightGBM's kZeroThreshold, declared as the float
// literal 1e-35f: as a double it is slightly above 1e-35.
var lgbZeroThreshold = float64(float32(1e-35))

// lgbLanes is how many trees Predict walks in lockstep.
const lgbLanes = 4

// errLGBUnsupported marks models the compiled evaluator does not handle;
// leaves scores them.
var errLGBUnsupported = errors.New("not supported by the compiled evaluator")

// compileLightGBM compiles a parsed text model. It accepts single-output
// models whose splits are all numerical and whose objective leaves knows;
// anything else (categorical splits, random forests' average_output,
// linear trees, other objectives) is errLGBUnsupported.
func compileLightGBM(t *lgbText) (*lgbCompiled, error) {
	h := t.header
	for _, k := range []string{"num_class", "num_tree_per_iteration"} {
		if n, err := h.int(k); err != nil {
			return nil, err
		} else if n != 1 {
			return nil, fmt.Errorf("%w: %s", errLGBUnsupported, h.errorf(k, "%d, want 1", n))
		}
	}
	if _, ok := h.fields["average_output"]; ok {
		return nil, fmt.Errorf("%w: %s", errLGBUnsupported, h.errorf("average_output", "random forests average their trees"))
	}
	maxFeature, err := h.int("max_feature_idx")
	if err != nil {
		return nil, err
	}
	if maxFeature < 0 {
		return nil, h.errorf("max_feature_idx", "%d", maxFeature)
	}
	objective, err := h.str("objective")
	if err != nil {
		return nil, err
	}
	c := &lgbCompiled{nf: maxFeature + 1}
	switch {
	case objective == "binary sigmoid:1":
		c.output = outputSigmoid
	case strings.HasPrefix(objective, "regression"):
		c.output = outputRaw
	case objective == "poisson" || objective == "gamma" || objective == "tweedie":
		c.output = outputExp
	default:
		return nil, fmt.Errorf("%w: %s", errLGBUnsupported, h.errorf("objective", "%q", objective))
	}
	c.slots = []lgbSlot{{feature: -1, miss: math.Inf(-1)}} // slot 0: leaves read it
	slotOf := map[lgbSlot]uint32{}
	slot := func(s lgbSlot) uint32 {
		if i, ok := slotOf[s]; ok {
			return i
		}
		slotOf[s] = uint32(len(c.slots))
		c.slots = append(c.slots, s)
		return slotOf[s]
	}
	for _, tree := range t.trees {
		if err := c.addTree(tree, slot); err != nil {
			return nil, err // it names the line
		}
	}
	// The lowered steps address nodes and inputs with uint32 byte offsets.
	if len(c.nodes) > math.MaxUint32/16 || len(c.slots) > math.MaxUint32/(8*lgbBlock) {
		return nil, fmt.Errorf("%w: %d nodes, %d input slots", errLGBUnsupported, len(c.nodes), len(c.slots))
	}
	for g := 0; g < len(c.depths); g += lgbLanes {
		c.group = append(c.group, slices.Max(c.depths[g:min(g+lgbLanes, len(c.depths))]))
	}
	c.padded = append([]uint32(nil), c.roots...)
	for len(c.padded)%lgbLanes != 0 {
		c.padded = append(c.padded, c.roots[len(c.roots)-1])
	}
	c.row, c.block = c.lower(8), c.lower(8*lgbBlock)
	return c, nil
}

// lgbSplit is one split of a tree as the text model stores it.
type lgbSplit struct {
	feature     int
	threshold   float64
	missing     int // 0 None, 1 Zero, 2 NaN
	defaultLeft bool
	left, right int // >= 0 a split, < 0 the leaf ^c
}

func (c *lgbCompiled) addTree(s lgbSection, slot func(lgbSlot) uint32) error {
	leaves, err := s.int("num_leaves")
	if err != nil {
		return err
	}
	if leaves < 1 {
		return s.errorf("num_leaves", "%d", leaves)
	}
	if v, ok := s.fields["is_linear"]; ok && v != "0" {
		return fmt.Errorf("%w: %s", errLGBUnsupported, s.errorf("is_linear", "linear trees"))
	}
	if n, err := s.int("num_cat"); err != nil {
		return err
	} else if n != 0 {
		return fmt.Errorf("%w: %s", errLGBUnsupported, s.errorf("num_cat", "%d categorical splits", n))
	}
	values, err := s.floats("leaf_value", leaves)
	if err != nil {
		return err
	}
	var splits []lgbSplit
	if leaves > 1 {
		if splits, err = readSplits(s, leaves-1, c.nf); err != nil {
			return err
		}
	}
	// Lay the tree out breadth first, each split's children side by side.
	root := uint32(len(c.nodes))
	type pending struct {
		child int // as left_child/right_child: >= 0 split, < 0 leaf
		at    uint32
		depth int
	}
	queue := []pending{{child: ^0, at: root}}
	if leaves > 1 {
		queue[0].child = 0
	}
	c.nodes = append(c.nodes, lgbNode{})
	seenSplit, seenLeaf := make([]bool, len(splits)), make([]bool, leaves)
	depth := 0
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		depth = max(depth, p.depth)
		if p.child < 0 {
			leaf := ^p.child
			if seenLeaf[leaf] {
				return s.errorf("left_child", "leaf %d is reached twice", leaf)
			}
			seenLeaf[leaf] = true
			c.nodes[p.at] = lgbNode{thr: values[leaf], slot: 0, left: p.at}
			continue
		}
		if seenSplit[p.child] {
			return s.errorf("left_child", "node %d is reached twice", p.child)
		}
		seenSplit[p.child] = true
		sp := splits[p.child]
		// A missing value takes the default side of a NaN or Zero split;
		// a None split reads a NaN as 0.0.
		missLeft := sp.defaultLeft
		if sp.missing == 0 {
			missLeft = 0 <= sp.threshold
		}
		miss := math.Inf(1)
		if missLeft {
			miss = math.Inf(-1)
		}
		left := uint32(len(c.nodes))
		c.nodes = append(c.nodes, lgbNode{}, lgbNode{})
		c.nodes[p.at] = lgbNode{thr: sp.threshold, slot: slot(lgbSlot{feature: sp.feature, zeroBand: sp.missing == 1, miss: miss}), left: left}
		queue = append(queue, pending{sp.left, left, p.depth + 1}, pending{sp.right, left + 1, p.depth + 1})
	}
	for leaf, ok := range seenLeaf {
		if !ok {
			return s.errorf("leaf_value", "leaf %d is not reachable", leaf)
		}
	}
	c.roots = append(c.roots, root)
	c.depths = append(c.depths, depth)
	c.nLeaves += leaves
	return nil
}

func readSplits(s lgbSection, n, nf int) ([]lgbSplit, error) {
	features, err := s.ints("split_feature", n)
	if err != nil {
		return nil, err
	}
	thresholds, err := s.floats("threshold", n)
	if err != nil {
		return nil, err
	}
	decisions, err := s.ints("decision_type", n)
	if err != nil {
		return nil, err
	}
	lefts, err := s.ints("left_child", n)
	if err != nil {
		return nil, err
	}
	rights, err := s.ints("right_child", n)
	if err != nil {
		return nil, err
	}
	splits := make([]lgbSplit, n)
	for i := range splits {
		d := decisions[i]
		switch {
		case d < 0 || d > 15:
			return nil, s.errorf("decision_type", "value %d: %d", i, d)
		case d&1 != 0:
			return nil, fmt.Errorf("%w: %s", errLGBUnsupported, s.errorf("decision_type", "value %d: categorical split", i))
		case d>>2&3 == 3:
			return nil, s.errorf("decision_type", "value %d: unknown missing type 3", i)
		}
		if features[i] < 0 || features[i] >= nf {
			return nil, s.errorf("split_feature", "value %d: feature %d, the model has %d", i, features[i], nf)
		}
		// An infinite threshold would compare equal to a replaced NaN.
		if math.IsInf(thresholds[i], 0) || math.IsNaN(thresholds[i]) {
			return nil, fmt.Errorf("%w: %s", errLGBUnsupported, s.errorf("threshold", "value %d: %g", i, thresholds[i]))
		}
		for _, c := range []struct {
			key string
			v   int
		}{{"left_child", lefts[i]}, {"right_child", rights[i]}} {
			if c.v >= n || ^c.v >= n+1 {
				return nil, s.errorf(c.key, "value %d: %d is out of range", i, c.v)
			}
		}
		splits[i] = lgbSplit{feature: features[i], threshold: thresholds[i], missing: d >> 2 & 3, defaultLeft: d&2 != 0, left: lefts[i], right: rights[i]}
	}
	return splits, nil
}

func (c *lgbCompiled) NumFeatures() int { return c.nf }

func (c *lgbCompiled) String() string {
	return fmt.Sprintf("lightgbm compiled: %d trees, %d leaves, %d input slots", len(c.roots), c.nLeaves, len(c.slots))
}

// value is x as slot s reads it.
func (s lgbSlot) value(x float64) float64 {
	if x != x || (s.zeroBand && x >= -lgbZeroThreshold && x <= lgbZeroThreshold) {
		return s.miss
	}
	return x
}

func (c *lgbCompiled) transform(raw float64) float64 {
	switch c.output {
	case outputSigmoid:
		return 1.0 / (1.0 + math.Exp(-raw)) // as leaves' util.Sigmoid
	case outputExp:
		return math.Exp(raw)
	}
	return raw
}
