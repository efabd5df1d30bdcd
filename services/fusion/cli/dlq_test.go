package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/services/runtime/ledger"
)

// A run whose transform fails for good is dead-lettered; once the pipeline
// is fixed, `fusion dlq redrive --run` sends it back and the run continues
// from the transform to the warehouse.
func TestRedrivenRunContinuesFromTheFailedStep(t *testing.T) {
	broken := strings.Replace(smallPipeline, "amount * 2 AS doubled", "amount * 2 AS doubled, colour", 1)
	p := embedded(t, map[string]string{"small.yaml": broken})
	home := p.Config.Home
	r := land(t, p, "landing/small/a.csv", "id,amount\n1,2.5\n2,3\n3,4\n")
	if r.Status != ledger.Failed {
		t.Fatalf("run %+v", r)
	}
	other := land(t, p, "landing/small/b.csv", "id,amount\n9,1\n")

	code, out, errOut := fusion(t, "dlq", "list", "--home", home, "--run", r.ID)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "QUEUE") ||
		!strings.Contains(lines[1], "transform") || !strings.Contains(lines[1], r.ID) || !strings.Contains(lines[1], "colour") {
		t.Fatalf("dlq list (%d):\n%s%s", code, out, errOut)
	}

	// Fix the pipeline, then send the failed event back.
	if err := os.WriteFile(filepath.Join(home, "pipelines", "small.yaml"), []byte(smallPipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the registry looks for changes every second
	code, out, errOut = fusion(t, "dlq", "redrive", "--home", home, "--run", r.ID)
	if code != 0 || strings.TrimSpace(out) != "redrove 1 dead letters" {
		t.Fatalf("dlq redrive (%d): %s%s", code, out, errOut)
	}
	waitSucceeded(t, p, r.ID)
	if got := query(t, home, "SELECT count(*), sum(doubled) FROM small WHERE id < 9"); strings.Join(got[0], ",") != "3,19" {
		t.Errorf("warehouse: %v", got)
	}
	// The other run's dead letter stays.
	if _, out, _ := fusion(t, "dlq", "list", "--home", home); strings.Contains(out, r.ID) || !strings.Contains(out, other.ID) {
		t.Errorf("after the redrive:\n%s", out)
	}
}
