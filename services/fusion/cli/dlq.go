package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fusiondata/fusion/services/runtime/platform"
	"github.com/fusiondata/fusion/services/runtime/transport"
)

func (a *app) dlqCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "List dead letters, or send them back to their workers",
		Long: `dlq works on the dead-letter queues of every worker: the home's on the
embedded tier, the SQS dead-letter queues on the aws tier.`,
	}
	cmd.AddCommand(a.dlqListCmd(), a.dlqRedriveCmd())
	return cmd
}

func (a *app) dlqListCmd() *cobra.Command {
	var run string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Print the dead letters, oldest first",
		Long: `list prints one line per dead letter: the queue it came from, its run and
step, the attempts made, when it was dead-lettered and why. Listing does not
consume them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, _, letters, err := a.deadLetters(cmd.Context(), run)
			if err != nil {
				return err
			}
			defer p.Close()
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "QUEUE\tRUN_ID\tSTEP\tATTEMPTS\tDEAD_AT\tREASON")
			for _, l := range letters {
				at := ""
				if !l.At.IsZero() {
					at = l.At.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", l.Queue, dash(l.RunID()), dash(l.Metadata["step"]), l.Attempts(), dash(at), oneLine(l.Reason(), 240))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "only the dead letters of this run")
	return cmd
}

func (a *app) dlqRedriveCmd() *cobra.Command {
	var run string
	cmd := &cobra.Command{
		Use:   "redrive",
		Short: "Send dead letters back to the workers they came from",
		Long: `redrive puts dead letters back on the queues they came from, so their steps
run again (fix the cause first: a pipeline file, a database, a model). A
redriven run continues from the step that failed. On the embedded tier a
running "fusion run" picks them up; otherwise the next one does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, dlq, letters, err := a.deadLetters(cmd.Context(), run)
			if err != nil {
				return err
			}
			defer p.Close()
			if err := dlq.Redrive(cmd.Context(), letters); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "redrove %d dead letters\n", len(letters))
			return nil
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "only the dead letters of this run")
	return cmd
}

// deadLetters opens the tier and lists its dead letters of a run ("" for
// all); close the platform when done.
func (a *app) deadLetters(ctx context.Context, run string) (*platform.Platform, transport.DeadLetterQueues, []transport.DeadLetter, error) {
	p, err := a.open(a.errOut)
	if err != nil {
		return nil, nil, nil, err
	}
	dlq := p.DeadLetters()
	letters, err := dlq.List(ctx)
	if err != nil {
		p.Close()
		return nil, nil, nil, err
	}
	return p, dlq, matching(letters, run), nil
}

// matching keeps the dead letters of a run ("" keeps all).
func matching(letters []transport.DeadLetter, run string) []transport.DeadLetter {
	if run == "" {
		return letters
	}
	var out []transport.DeadLetter
	for _, l := range letters {
		if l.RunID() == run {
			out = append(out, l)
		}
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine folds text onto one line of at most n bytes, for a table cell.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
