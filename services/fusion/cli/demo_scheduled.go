package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/fusiondata/fusion/services/fusion/sample"
)

func init() { demoDrivers["sales_daily"] = demoDriver{Feed: demoScheduled} }

// salesWeek is the week of till exports the scheduled demo drops.
var salesWeek = time.Date(2026, 11, 14, 0, 0, 0, 0, time.UTC)

const salesDays = 7

// salesFile is the key of one day's till export.
func salesFile(prefix string, day time.Time) string {
	return prefix + "sales-" + day.Format("2006-01-02") + ".csv"
}

// demoScheduled is the scheduled batch ETL: it drops a week of till
// exports into the pipeline's snapshot prefix, fires the schedule once as
// the scheduler would now, and waits for that run.
func demoScheduled(ctx context.Context, s *demoSession) error {
	perDay := max(s.Rows/salesDays, 1)
	fmt.Fprintf(s.Progress, "fusion demo: home %s, %d days of till exports, %d receipts each, under %s\n", s.Home, salesDays, perDay, s.Pipeline.Source.Prefix)
	for i := 0; i < salesDays; i++ {
		day := salesWeek.AddDate(0, 0, i)
		if err := landGenerated(ctx, s.P, salesFile(s.Pipeline.Source.Prefix, day), func(w io.Writer) error {
			return sample.SalesDay(w, day, perDay, s.Seed)
		}); err != nil {
			return err
		}
	}
	sched, err := s.P.Scheduler()
	if err != nil {
		return err
	}
	due := time.Now().UTC().Truncate(time.Minute)
	run, err := sched.Fire(ctx, s.Pipeline, due)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Progress, "fired schedule %q (%s) for %s: run %s\n", s.Pipeline.Schedule.Expression, s.Pipeline.Schedule.Zone(), due.Format(time.RFC3339), run.RunID)
	r, err := waitForRunID(ctx, s.P.Ledger, run.RunID, s.Progress)
	if err := reportRun(s, r, err); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "try  fusion query --home %s \"SELECT day, sum(sales) AS sales, sum(revenue) AS revenue FROM sales_daily GROUP BY day ORDER BY day\"\n", s.Home)
	return nil
}
