package cli

import (
	"context"
	"fmt"

	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

func init() { demoDrivers["churn_scoring"] = demoDriver{Feed: demoScoring} }

// demoScoring is the batch-inference job: it lands the generated churn
// sample under the pipeline's prefix and waits for the run — features,
// scores from the registered model, the scores loaded, exported to the
// lake and (with FUSION_CONN_REPORTING) to the reporting database, the
// negligible ones pruned — then prints where the scores went.
func demoScoring(ctx context.Context, s *demoSession) error {
	run, err := demoChurnRun(ctx, s)
	if err != nil {
		return err
	}
	vars := pipeline.Vars{RunID: run.ID, Pipeline: s.Pipeline.Name}
	for _, a := range s.Pipeline.Activities {
		if a.Copy == nil {
			continue
		}
		to, err := pipeline.ParseEndpoint(a.Copy.To)
		if err != nil {
			return err
		}
		to = to.Expand(vars)
		if _, err := s.P.Deps.Connection(to.Connection); to.Kind == pipeline.EndpointPostgres && err != nil {
			fmt.Fprintf(s.Out, "%-18s skipped: %v\n", a.Name, err)
			continue
		}
		fmt.Fprintf(s.Out, "%-18s scores copied to %s\n", a.Name, to)
	}
	fmt.Fprintf(s.Out, "try  fusion query --home %s \"SELECT round(score, 1) AS risk, count(*) AS customers FROM churn_scores GROUP BY 1 ORDER BY 1\"\n", s.Home)
	return nil
}
