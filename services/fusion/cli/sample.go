package cli

import (
	"bufio"
	"os"

	"github.com/spf13/cobra"

	"github.com/fusiondata/fusion/services/fusion/sample"
)

func (a *app) sampleCmd() *cobra.Command {
	var rows int
	var seed uint64
	var out string
	cmd := &cobra.Command{
		Use:   "sample",
		Short: "Write the churn sample CSV (deterministic for a seed and row count)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" || out == "-" {
				return sample.Churn(a.out, rows, seed)
			}
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			w := bufio.NewWriterSize(f, 1<<20)
			if err := sample.Churn(w, rows, seed); err != nil {
				f.Close()
				return err
			}
			if err := w.Flush(); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		},
	}
	cmd.Flags().IntVar(&rows, "rows", sample.DefaultRows, "customers to generate")
	cmd.Flags().Uint64Var(&seed, "seed", sample.DefaultSeed, "random seed")
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (default stdout)")
	return cmd
}
