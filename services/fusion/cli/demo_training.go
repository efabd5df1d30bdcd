package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fusiondata/fusion/services/runtime/lake"
)

func init() { demoDrivers["churn_training"] = demoDriver{Feed: demoTraining} }

// demoTraining is the training-data job: it lands the generated churn
// sample under the pipeline's prefix, waits for the run — curated
// customers, the split once they are in the warehouse (a precondition),
// the manifest checked by a shell activity — and prints the splits.
func demoTraining(ctx context.Context, s *demoSession) error {
	run, err := demoChurnRun(ctx, s)
	if err != nil {
		return err
	}
	manifest := lake.RunKey(lake.Training, s.Pipeline.Name, run.ID, "manifest.json")
	splits, err := readSplits(ctx, s.P.Lake, manifest)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "training set  train %d  validation %d  test %d  (manifest %s)\n", splits["train"], splits["validation"], splits["test"], manifest)
	fmt.Fprintf(s.Out, "try  fusion query --home %s \"SELECT churned, count(*) FROM read_parquet('%s/lake/%s') GROUP BY churned\"\n",
		s.Home, s.Home, lake.RunKey(lake.Training, s.Pipeline.Name, run.ID, "train.parquet"))
	return nil
}

// readSplits reads the rows of each split from a training manifest.
func readSplits(ctx context.Context, l lake.Lake, key string) (map[string]int64, error) {
	r, err := l.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var m struct {
		Splits map[string]struct {
			Rows int64 `json:"rows"`
		} `json:"splits"`
	}
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	out := map[string]int64{}
	for name, s := range m.Splits {
		out[name] = s.Rows
	}
	return out, nil
}
