package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fusiondata/fusion/services/runtime/ledger"
)

// printRun prints a run and its steps.
func printRun(w io.Writer, r ledger.Run) {
	fmt.Fprintf(w, "run %s  pipeline %s  %s  %s\n", r.ID, orDash(r.Pipeline), statusOf(r), round(r.Duration()))
	if r.Input != "" {
		fmt.Fprintf(w, "input %s\n", r.Input)
	}
	if r.Deadline > 0 {
		fmt.Fprintf(w, "deadline %s", r.Deadline)
		if r.Late() {
			fmt.Fprintf(w, "  late: still open at %s", r.LateAt.UTC().Format(time.RFC3339))
		}
		fmt.Fprintln(w)
	}
	if r.TraceID != "" {
		fmt.Fprintf(w, "trace %s\n", r.TraceID)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATUS\tROWS_IN\tROWS_OUT\tDURATION\tATTEMPT")
	for _, s := range r.Steps {
		dur, in, out, attempt := "-", "-", "-", "-"
		if s.Status != ledger.Pending {
			in, out, attempt = fmt.Sprint(s.RowsIn), fmt.Sprint(s.RowsOut), fmt.Sprint(s.Attempt)
			if s.Status != ledger.Started {
				dur = round(time.Duration(s.DurationMS) * time.Millisecond)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Status, in, out, dur, attempt)
	}
	tw.Flush()
	for _, s := range r.Steps {
		if s.Error != nil {
			fmt.Fprintf(w, "%s failed: %s\n", s.Name, s.Error.Message)
			if s.Error.Quarantine != "" {
				fmt.Fprintf(w, "  input quarantined at %s\n", s.Error.Quarantine)
			}
		}
	}
}

// printRuns prints one line per run, run id first.
func printRuns(w io.Writer, runs []ledger.Run) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN_ID\tPIPELINE\tSTATUS\tSTARTED\tDURATION\tSTEPS\tTRACE_ID")
	for _, r := range runs {
		done := 0
		for _, s := range r.Steps {
			if s.Status == ledger.Succeeded {
				done++
			}
		}
		total := len(r.Expected)
		if total == 0 {
			total = len(r.Steps)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", r.ID, orDash(r.Pipeline), statusOf(r),
			r.StartedAt.UTC().Format(time.RFC3339), round(r.Duration()), done, total, orDash(r.TraceID))
	}
	tw.Flush()
}

// statusOf is a run's status, "(late)" added when the ledger found it open
// past its pipeline's deadline: running (late), or succeeded (late) once
// it finished after all.
func statusOf(r ledger.Run) string {
	if r.Late() {
		return r.Status + " (late)"
	}
	return r.Status
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func round(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
