package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/fusiondata/fusion/services/runtime/ledger"
)

func (a *app) ingestCmd() *cobra.Command {
	var name, reason string
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "ingest [FILE] --pipeline NAME",
		Short: "Land a file for a pipeline, or request a pull of its Postgres table",
		Long: `ingest copies FILE into the pipeline's landing prefix in the home's lake.
A running "fusion run" picks it up and starts a run; with --wait this command
waits for that run and prints its summary.

For a pipeline whose source is a Postgres table (source.postgres), run it
without FILE: it publishes a fusion.ingest.requested.v1 event, and the ingest
worker copies the table — or, with a bookmark, the rows changed since the last
successful pull — into a new run. --wait waits for that run. A pipeline whose
source.prefix is outside landing/ (a snapshot, usually scheduled) starts the
same way: the run reads every object under the prefix at that moment. So
does a Lambda pipeline (a lambda block) without FILE: a batch-layer
recompute over its history, as its schedule fires it; with FILE, the file
feeds its speed layer.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := a.open(io.Discard)
			if err != nil {
				return err
			}
			defer p.Close()
			pl, err := p.Pipelines.Get(name)
			if err != nil {
				return err
			}
			switch {
			case pl.Source.Postgres != nil && len(args) == 1:
				return fmt.Errorf("pipeline %s copies %s: run without FILE to request a pull", pl.Name, pl.Source.Postgres.Label())
			case pl.Source.Postgres != nil:
				return a.requestPull(p, pl, reason, wait, timeout)
			case pl.Source.Snapshot() && len(args) == 1:
				return fmt.Errorf("pipeline %s reads every object under %s when a run starts: put files there, then run without FILE to start a run", pl.Name, pl.Source.Prefix)
			case pl.Source.Snapshot():
				return a.requestPull(p, pl, reason, wait, timeout)
			case pl.Lambda != nil && len(args) == 0: // a batch-layer recompute, as its schedule fires it
				return a.requestPull(p, pl, reason, wait, timeout)
			case len(args) == 0:
				return fmt.Errorf("pipeline %s ingests files landing under %s: give the FILE to land", pl.Name, pl.Source.Prefix)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
			if st.IsDir() {
				return fmt.Errorf("%s is a directory", args[0])
			}
			ctx, stop := signalContext()
			defer stop()
			key := pl.Source.Prefix + filepath.Base(args[0])
			var r io.Reader = f
			if isTerminal(a.errOut) && st.Size() > 64<<20 {
				r = &progressReader{r: f, total: st.Size(), w: a.errOut, label: "landing " + filepath.Base(args[0])}
			}
			obj, err := p.Lake.Put(ctx, key, r)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "landed %s (%d bytes) for pipeline %s\n", obj.Key, obj.Size, pl.Name)
			if !wait {
				fmt.Fprintf(a.out, "\"fusion run --home %s\" ingests it\n", a.cfg.Home)
				return nil
			}
			waitCtx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			return a.reportRun(waitForRun(waitCtx, p.Ledger, key, a.errOut))
		},
	}
	cmd.Flags().StringVar(&name, "pipeline", "", "pipeline the file is for (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "without FILE: why the pull is requested, kept with the request")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the run to finish and print its summary")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Minute, "with --wait, give up after this long")
	cmd.MarkFlagRequired("pipeline")
	return cmd
}

// reportRun prints a finished run's summary; a run that did not succeed
// ends the command with exit code 1.
func (a *app) reportRun(run ledger.Run, err error) error {
	if run.ID != "" {
		printRun(a.out, run)
	}
	if err != nil {
		return fmt.Errorf("waiting for the run (is \"fusion run\" running?): %w", err)
	}
	if run.Status != ledger.Succeeded {
		return exitError{code: 1, msg: fmt.Sprintf("run %s %s", run.ID, run.Status)}
	}
	return nil
}

// progressReader draws a progress bar while a large file is copied.
type progressReader struct {
	r     io.Reader
	total int64
	done  int64
	w     io.Writer
	label string
	last  time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if time.Since(p.last) > 100*time.Millisecond || err != nil {
		p.last = time.Now()
		const width = 30
		filled := int(int64(width) * p.done / max(p.total, 1))
		fmt.Fprintf(p.w, "\r\033[K%s [%s%s] %d%%", p.label, repeat('#', filled), repeat('-', width-filled), 100*p.done/max(p.total, 1))
		if err != nil {
			fmt.Fprintln(p.w)
		}
	}
	return n, err
}

func repeat(c byte, n int) string {
	b := make([]byte, max(n, 0))
	for i := range b {
		b[i] = c
	}
	return string(b)
}
