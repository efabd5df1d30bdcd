package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/fusion/sample"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/scheduler"
)

func init() { demoDrivers["clicks"] = demoDriver{Feed: demoLambda} }

// demoLambda runs the Lambda sample (deploy/pipelines/clicks.yaml): two
// speed-layer files of clicks, a batch recompute fired as the scheduler
// fires it, one more speed-layer file; after each, the serving view's
// totals beside what they must be (each click once).
func demoLambda(ctx context.Context, s *demoSession) error {
	n := int64(s.Rows)
	cuts := []int64{n * 4 / 10, n * 8 / 10}
	fmt.Fprintf(s.Progress, "fusion demo: home %s, %d clicks in three files, a batch recompute after the second\n", s.Home, n)

	var stages []lambdaStage
	check := func(name string, run ledger.Run, upTo int64) error {
		st, err := lambdaTotals(ctx, s, name, run, upTo)
		stages = append(stages, st)
		return err
	}
	from := int64(0)
	speed := func(to int64) (ledger.Run, error) {
		key := fmt.Sprintf("%sclicks-%07d-%07d.jsonl", s.Pipeline.Source.Prefix, from, to-1)
		first := from
		if err := landGenerated(ctx, s.P, key, func(w io.Writer) error { return sample.Clicks(w, first, to-first, s.Seed) }); err != nil {
			return ledger.Run{}, err
		}
		from = to
		run, err := waitForRun(ctx, s.P.Ledger, key, s.Progress)
		return finished(s, run, err)
	}
	for i, to := range cuts {
		run, err := speed(to)
		if err != nil {
			return err
		}
		if err := check(fmt.Sprintf("speed file %d", i+1), run, to); err != nil {
			return err
		}
	}
	// The batch layer's fire, as `fusion run`'s scheduler (or EventBridge
	// Scheduler) sends it: the same request, the same run.
	at := time.Now().UTC().Truncate(time.Minute)
	rq := scheduler.Request(s.Pipeline.Name, at)
	env, err := messages.New(rq, time.Now())
	if err != nil {
		return err
	}
	if err := s.P.Submit(ctx, env); err != nil {
		return fmt.Errorf("fire the batch layer: %w", err)
	}
	run, err := waitForRunID(ctx, s.P.Ledger, rq.StartRun(env).RunID, s.Progress)
	if run, err = finished(s, run, err); err != nil {
		return err
	}
	if err := check("batch recompute", run, from); err != nil {
		return err
	}
	run, err = speed(n)
	if err != nil {
		return err
	}
	if err := check("speed file 3", run, n); err != nil {
		return err
	}

	tw := tabwriter.NewWriter(s.Out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSTAGE\tRUN\tVIEW_CLICKS\tUSERS\tDURATION_MS\tBATCH_ROWS\tSPEED_ROWS\tWATERMARK\tEXPECTED")
	for _, st := range stages {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", st.name, st.run, st.got.Events, st.got.Users, st.got.DurationMS,
			st.batch, st.speed, st.watermark, st.verdict())
	}
	tw.Flush()
	fmt.Fprintf(s.Out, "\nhome %s (lake/, warehouse.duckdb, logs in fusion.log)\n", s.Home)
	fmt.Fprintf(s.Out, "try  fusion query --home %s \"SELECT page, count(*) AS clicks FROM clicks_serving GROUP BY page ORDER BY clicks DESC\"\n", s.Home)
	for _, st := range stages {
		if st.got != st.want {
			return exitError{code: 1, msg: fmt.Sprintf("%s: the serving view shows %+v, want %+v", st.name, st.got, st.want)}
		}
	}
	return nil
}

// finished prints a run and turns one that did not succeed into an error.
func finished(s *demoSession, run ledger.Run, err error) (ledger.Run, error) {
	if run.ID != "" {
		printRun(s.Out, run)
		fmt.Fprintln(s.Out)
	}
	if err != nil {
		return run, fmt.Errorf("waiting for the run: %w", err)
	}
	if run.Status != ledger.Succeeded {
		return run, exitError{code: 1, msg: fmt.Sprintf("run %s %s", run.ID, run.Status)}
	}
	return run, nil
}

// lambdaStage is what the serving view showed after one stage.
type lambdaStage struct {
	name, run    string
	got, want    sample.ClickTotals
	batch, speed int64
	watermark    string
}

func (st lambdaStage) verdict() string {
	if st.got == st.want {
		return "ok"
	}
	return fmt.Sprintf("WANT %d/%d/%d", st.want.Events, st.want.Users, st.want.DurationMS)
}

// lambdaTotals reads the serving view's totals and the layers' sizes.
func lambdaTotals(ctx context.Context, s *demoSession, name string, run ledger.Run, upTo int64) (lambdaStage, error) {
	l := s.Pipeline.Lambda
	st := lambdaStage{name: name, run: run.ID, want: sample.ClicksTotals(upTo, s.Seed), watermark: "-"}
	q := fmt.Sprintf(`SELECT (SELECT count(*) FROM %[1]s), (SELECT count(DISTINCT user_id) FROM %[1]s),
		(SELECT CAST(coalesce(sum(duration_ms), 0) AS BIGINT) FROM %[1]s), (SELECT count(*) FROM %[2]s), (SELECT count(*) FROM %[3]s),
		(SELECT coalesce(max(watermark), '-') FROM fusion_watermarks WHERE view_name = '%[1]s')`, l.View, l.Batch.Table, l.Speed.Table)
	err := s.P.Deps.Warehouse.Query(ctx, q, func(_ []string, row []any) error {
		if row == nil {
			return nil
		}
		var err error
		for i, p := range []*int64{&st.got.Events, &st.got.Users, &st.got.DurationMS, &st.batch, &st.speed} {
			if *p, err = asInt64(row[i]); err != nil {
				return err
			}
		}
		st.watermark = fmt.Sprint(row[5])
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("%s: read the serving view %s: %w", name, l.View, err)
	}
	return st, nil
}

func asInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case int:
		return int64(x), nil
	}
	return 0, fmt.Errorf("not an integer: %T %v", v, v)
}
