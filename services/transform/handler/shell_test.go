package handler

import (
	"strconv"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/worker"
	"github.com/fusiondata/fusion/services/runtime/worker/workertest"
)

const withShell = `name: p
transform: {sql: SELECT * FROM input}
activities:
  - name: count_rows
    after: transform
    shell:
      dataset: curated
      command: |
        echo "$FUSION_RUN_ID $FUSION_PIPELINE $FUSION_STEP $FUSION_DATASET {{date}}"
        echo "$FUSION_DATASET_URI"
        test -f "$FUSION_DATASET_PATH" && wc -c < "$FUSION_DATASET_PATH"
        pwd > where
  - name: fails
    after: activity.count_rows
    shell: {command: "echo doing; echo 'no disk' >&2; exit 4"}
  - name: slow
    after: activity.fails
    shell: {command: "sleep 30", timeout: 200ms}
`

// The command finds the run and the dataset's local file in its
// environment, runs in a scratch directory, and its output is announced.
func TestShellActivityGetsTheDataset(t *testing.T) {
	s := workertest.New(t, map[string]string{"p.yaml": withShell})
	w, _ := New(s.Deps)
	run := messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}
	curated := s.Parquet(t, "curated/p/"+workertest.RunID+"/part-0.parquet", "SELECT i AS id FROM range(10) t(i)")
	out, err := s.Call(t, w, "p", &messages.DatasetTransformed{RunRef: run, Dataset: curated})
	if err != nil {
		t.Fatal(err)
	}
	done := out.Events[0].(*messages.ActivityCompleted)
	lines := strings.Split(done.Output, "\n")
	path := s.Path(t, curated.Objects[0])
	if len(lines) != 3 || lines[0] != workertest.RunID+" p activity.count_rows curated 2026-11-21" ||
		lines[1] != "file://"+path || strings.TrimSpace(lines[2]) != strconv.FormatInt(curated.Bytes, 10) {
		t.Errorf("output %q (the dataset %s has %d bytes)", done.Output, path, curated.Bytes)
	}
	if done.Activity != "count_rows" || done.Kind != messages.ActivityShell || out.Bytes != curated.Bytes {
		t.Errorf("%+v %+v", done, out)
	}
}

// A failing command fails the attempt with its status and output tails; a
// command past its timeout is stopped. Both are retried like any step.
func TestShellActivityFailures(t *testing.T) {
	s := workertest.New(t, map[string]string{"p.yaml": withShell})
	w, _ := New(s.Deps)
	run := messages.RunRef{RunID: workertest.RunID, Pipeline: "p"}
	_, err := s.Call(t, w, "p", &messages.ActivityCompleted{RunRef: run, Activity: "count_rows", Kind: messages.ActivityShell})
	if want := "activity fails: command exited with status 4; stderr: no disk; stdout: doing"; err == nil || err.Error() != want || worker.IsPermanent(err) {
		t.Errorf("got %v, want %q, retried", err, want)
	}
	_, err = s.Call(t, w, "p", &messages.ActivityCompleted{RunRef: run, Activity: "fails", Kind: messages.ActivityShell})
	if want := "activity slow: command timed out after 200ms"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	// A dataset the run has not written is named.
	_, err = s.Call(t, w, "p", &messages.DatasetTransformed{RunRef: messages.RunRef{RunID: "20261121-151600-000000", Pipeline: "p"}, Dataset: messages.DatasetRef{Name: "p.curated", Objects: []string{"x"}}})
	if err == nil || !strings.Contains(err.Error(), "dataset curated of run 20261121-151600-000000 is not in the lake") || !worker.IsPermanent(err) {
		t.Errorf("a missing dataset: %v", err)
	}
}
