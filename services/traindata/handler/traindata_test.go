package handler

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/worker"
	"github.com/fusiondata/fusion/services/runtime/worker/workertest"
)

const def = `name: p
transform: {sql: SELECT * FROM input}
training:
  key: id
  label: label
  features: [x, y, name]
  split: {train: 0.6, validation: 0.25, test: 0.15}
`

// expectedSplit is the split rule written independently of the SQL.
func expectedSplit(id int) string {
	sum := md5.Sum([]byte(strconv.Itoa(id)))
	h, _ := strconv.ParseUint(hex.EncodeToString(sum[:4]), 16, 64)
	b := float64(h) / (1 << 32)
	switch {
	case b < 0.6:
		return "train"
	case b < 0.85:
		return "validation"
	}
	return "test"
}

func curated(t *testing.T, s *workertest.Stack) messages.DatasetRef {
	return s.Parquet(t, "curated/p/r/part-0.parquet",
		"SELECT i AS id, i * 0.5 AS x, CASE WHEN i % 10 = 0 THEN NULL ELSE i % 7 END AS y, 'n' || i AS name, (i % 3 = 0)::INTEGER AS label, 'ignored' AS extra FROM range(1, 2001) t(i)")
}

func TestSplitsAreDeterministicAndMatchTheRule(t *testing.T) {
	s := workertest.New(t, map[string]string{"p.yaml": def})
	w, err := New(s.Deps)
	if err != nil {
		t.Fatal(err)
	}
	in := curated(t, s)
	out, err := s.Call(t, w, "p", &messages.DatasetTransformed{RunRef: messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}, Dataset: in})
	if err != nil {
		t.Fatal(err)
	}
	built := out.Events[0].(*messages.TrainingDataBuilt)
	want := map[string]map[string]bool{"train": {}, "validation": {}, "test": {}}
	for i := 1; i <= 2000; i++ {
		want[expectedSplit(i)][strconv.Itoa(i)] = true
	}
	for _, split := range Splits {
		ref, _ := built.Split(split)
		rows := s.Query(t, "SELECT id FROM read_parquet('"+s.Path(t, ref.Objects[0])+"')")
		if len(rows) != len(want[split]) || ref.Rows != int64(len(rows)) {
			t.Errorf("%s: %d rows (ref says %d), want %d", split, len(rows), ref.Rows, len(want[split]))
		}
		for _, r := range rows {
			if !want[split][r[0]] {
				t.Errorf("id %s is in %s", r[0], split)
				break
			}
		}
		cols := s.Query(t, "SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet('"+s.Path(t, ref.Objects[0])+"'))")
		var names []string
		for _, c := range cols {
			names = append(names, c[0])
		}
		if strings.Join(names, ",") != "id,x,y,name,label" {
			t.Errorf("%s columns %v", split, names)
		}
	}
	if out.RowsIn != 2000 || out.RowsOut != 2000 {
		t.Errorf("rows in %d out %d", out.RowsIn, out.RowsOut)
	}

	// The manifest: counts, label balance, statistics.
	body, err := os.ReadFile(s.Path(t, built.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	train := m.Splits["train"]
	var labels int64
	for _, n := range train.LabelCounts {
		labels += n
	}
	if train.Rows != int64(len(want["train"])) || labels != train.Rows {
		t.Errorf("train rows %d, label counts %v", train.Rows, train.LabelCounts)
	}
	x := train.Features["x"]
	if x.Count != train.Rows || x.Nulls != 0 || x.Mean == nil || x.Min.(float64) < 0.5 || x.Max.(float64) > 1000 {
		t.Errorf("x stats %+v", x)
	}
	if y := train.Features["y"]; y.Nulls == 0 || y.Count+y.Nulls != train.Rows {
		t.Errorf("y stats %+v", y)
	}
	if n := train.Features["name"]; n.Mean != nil || n.Type != "VARCHAR" {
		t.Errorf("a text feature has a mean: %+v", n)
	}

	// Running again gives the same split.
	out2, err := s.Call(t, w, "p", &messages.DatasetTransformed{RunRef: messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}, Dataset: in})
	if err != nil {
		t.Fatal(err)
	}
	if b2 := out2.Events[0].(*messages.TrainingDataBuilt); b2.Train.Rows != built.Train.Rows || b2.Test.Rows != built.Test.Rows {
		t.Error("a second run split differently")
	}
}

func TestEmptySplitStillHasAFile(t *testing.T) {
	s := workertest.New(t, map[string]string{"p.yaml": strings.Replace(def, "{train: 0.6, validation: 0.25, test: 0.15}", "{train: 1}", 1)})
	w, _ := New(s.Deps)
	out, err := s.Call(t, w, "p", &messages.DatasetTransformed{RunRef: messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}, Dataset: curated(t, s)})
	if err != nil {
		t.Fatal(err)
	}
	b := out.Events[0].(*messages.TrainingDataBuilt)
	if b.Train.Rows != 2000 || b.Test.Rows != 0 || b.Validation.Rows != 0 {
		t.Fatalf("%+v", b)
	}
	if got := s.Query(t, "SELECT count(*) FROM read_parquet('"+s.Path(t, b.Test.Objects[0])+"')"); got[0][0] != "0" {
		t.Errorf("empty test split: %v", got)
	}
}

func TestMissingColumnsArePermanentAndNamed(t *testing.T) {
	s := workertest.New(t, map[string]string{"p.yaml": strings.Replace(def, "[x, y, name]", "[x, colour]", 1)})
	w, _ := New(s.Deps)
	_, err := s.Call(t, w, "p", &messages.DatasetTransformed{RunRef: messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}, Dataset: curated(t, s)})
	if !worker.IsPermanent(err) || !strings.Contains(err.Error(), `training.features[1]: column "colour" is not in the curated dataset`) {
		t.Errorf("got %v", err)
	}
}
