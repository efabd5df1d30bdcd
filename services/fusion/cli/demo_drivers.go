package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/fusiondata/fusion/services/fusion/sample"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
)

// demoDriver runs one sample pipeline's demo. Each job style registers its
// own from its file (demo_<style>.go) with
//
//	func init() { demoDrivers["<pipeline name>"] = demoDriver{...} }
type demoDriver struct {
	// Configure adjusts the configuration before the platform opens
	// (optional): an HTTP address, for instance.
	Configure func(*config.Config)
	// Options adjusts how the workers run (optional).
	Options func(*platform.RunOptions)
	// Feed gives the running workers the sample input, waits for what it
	// started, and prints the summary on s.Out. It returns an exitError
	// when a run did not succeed.
	Feed func(ctx context.Context, s *demoSession) error
}

// demoSession is a demo in progress: every worker runs on the platform.
type demoSession struct {
	P        *platform.Platform
	Pipeline *pipeline.Pipeline
	Rows     int    // --rows: the size of the generated sample
	Seed     uint64 // --seed
	// Out is for the summary; Progress for progress lines (stderr).
	Out, Progress io.Writer
	Home          string
}

var demoDrivers = map[string]demoDriver{
	"churn": {Feed: demoChurn},
}

// demoPipelines lists the pipelines the demo can run.
func demoPipelines() []string {
	var names []string
	for n := range demoDrivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// demoChurn lands the generated churn sample and waits for its run.
func demoChurn(ctx context.Context, s *demoSession) error {
	if _, err := demoChurnRun(ctx, s); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "try  fusion query --home %s \"SELECT plan, count(*) AS customers, round(avg(score), 3) AS churn_risk FROM churn_customers JOIN churn_predictions USING (customer_id) GROUP BY plan ORDER BY plan\"\n", s.Home)
	return nil
}

// demoChurnRun lands the generated churn sample under the pipeline's
// prefix, waits for the run it starts and prints its summary.
func demoChurnRun(ctx context.Context, s *demoSession) (ledger.Run, error) {
	fmt.Fprintf(s.Progress, "fusion demo: home %s, %d customers\n", s.Home, s.Rows)
	key := s.Pipeline.Source.Prefix + fmt.Sprintf("customers-%s.csv", time.Now().UTC().Format("20060102T150405.000"))
	if err := landGenerated(ctx, s.P, key, func(w io.Writer) error { return sample.Churn(w, s.Rows, s.Seed) }); err != nil {
		return ledger.Run{}, err
	}
	run, err := waitForRun(ctx, s.P.Ledger, key, s.Progress)
	return run, reportRun(s, run, err)
}

// landGenerated streams generated sample data into the lake at key.
func landGenerated(ctx context.Context, p *platform.Platform, key string, generate func(io.Writer) error) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(generate(pw)) }()
	if _, err := p.Lake.Put(ctx, key, pr); err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("land the sample at %s: %w", key, err)
	}
	return nil
}

// reportRun prints a finished run's summary and the home, and turns a run
// that did not succeed (or a wait that failed) into the demo's error.
func reportRun(s *demoSession, run ledger.Run, waitErr error) error {
	if run.ID != "" {
		printRun(s.Out, run)
	}
	if waitErr != nil {
		return fmt.Errorf("waiting for the run: %w", waitErr)
	}
	fmt.Fprintf(s.Out, "\nhome %s (lake/, warehouse.duckdb, logs in fusion.log)\n", s.Home)
	if run.Status != ledger.Succeeded {
		return exitError{code: 1, msg: fmt.Sprintf("run %s %s", run.ID, run.Status)}
	}
	return nil
}
