package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

func (a *app) validateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check pipeline definitions and report every problem with its line",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bad := 0
			for _, file := range args {
				data, err := os.ReadFile(file)
				if err == nil {
					_, err = pipeline.Parse(file, data)
				}
				if err != nil {
					bad++
					var joined interface{ Unwrap() []error }
					if errors.As(err, &joined) {
						for _, e := range joined.Unwrap() {
							fmt.Fprintln(a.out, e)
						}
					} else {
						fmt.Fprintln(a.out, err)
					}
					continue
				}
				fmt.Fprintf(a.out, "%s: ok\n", file)
			}
			if bad > 0 {
				return exitError{code: 1, msg: fmt.Sprintf("%d of %d pipeline files have problems", bad, len(args))}
			}
			return nil
		},
	}
}
