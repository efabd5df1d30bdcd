package cli

import (
	"github.com/spf13/cobra"

	"github.com/fusiondata/fusion/services/runtime/platform"
)

func (a *app) runsCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "runs [RUN_ID]",
		Short: "List recent runs, or show one run's steps",
		Long: `runs prints a table of recent runs (newest first): run id, pipeline, status,
start, duration, steps done and trace id; a run found open past its pipeline's
deadline shows "(late)" after its status. With a RUN_ID it prints that run's
steps with their status, rows in and out, duration and attempt.

On the embedded tier the ledger is the home's fusion.db; with
FUSION_TRANSPORT=aws it is the DynamoDB table FUSION_LEDGER_TABLE
(default <queue prefix>ledger) that the ledger process writes.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, closeLedger, err := platform.OpenLedger(cmd.Context(), a.cfg)
			if err != nil {
				return err
			}
			defer closeLedger()
			if len(args) == 1 {
				r, err := store.Run(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				printRun(a.out, r)
				return nil
			}
			runs, err := store.Runs(cmd.Context(), limit)
			if err != nil {
				return err
			}
			printRuns(a.out, runs)
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "how many runs to list")
	return cmd
}
