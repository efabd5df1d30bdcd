package cli

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/metastore"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
	"github.com/fusiondata/fusion/services/runtime/routing"
)

func (a *app) graphCmd() *cobra.Command {
	var name, runID, format string
	var runtime bool
	cmd := &cobra.Command{
		Use:   "graph [--pipeline NAME] [--run RUN_ID] [--format mermaid|dot]",
		Short: "Draw the pipeline graph the routing rules make, or what one run did",
		Long: `graph prints the graph of the pipelines in the pipelines directory (or of one,
with --pipeline) as Mermaid (a "flowchart LR", the default) or Graphviz DOT.
It is derived from the routing rules, not drawn by hand: each step publishes an
event, the rules route the event (for its pipeline) to a worker's queue, and the
worker runs the step bound to that event. Edges into a step are labelled with
the rule that routes them. The events outside the pipelines' data flow — the
step events every step publishes, the ledger's notices — and their routes to
the ledger queue and the failures topic are drawn dashed (--runtime).

With --run RUN_ID it draws what that run did, from the run ledger in the home:
every step with its status (succeeded, failed, running, pending), rows in and
out, duration and attempt, styled by status; expected steps that have not run
are pending. The run's pipeline is read from the pipelines directory.

  fusion graph > pipelines.mmd
  fusion graph --pipeline churn --format dot | dot -Tsvg > churn.svg
  fusion graph --run 20261121-155146-f3ea20`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "mermaid" && format != "dot" {
				return fmt.Errorf("--format must be mermaid or dot (got %q)", format)
			}
			if !cmd.Flags().Changed("runtime") {
				runtime = runID == "" // a run's graph is about its steps
			}
			reg, err := a.pipelineRegistry()
			if err != nil {
				return err
			}
			table, err := routing.NewTable(routing.ForPipelines(reg.All()))
			if err != nil {
				return err
			}
			var v *graphView
			if runID != "" {
				if v, err = a.runGraph(cmd, reg, table, runID, name, runtime); err != nil {
					return err
				}
			} else {
				ps := reg.All()
				if name != "" {
					p, err := reg.Get(name)
					if err != nil {
						return err
					}
					ps = []*pipeline.Pipeline{p}
				}
				if len(ps) == 0 {
					return fmt.Errorf("no pipelines in %s", a.cfg.PipelinesDir())
				}
				g, err := routing.BuildGraph(table, ps, runtime)
				if err != nil {
					return err
				}
				v = newGraphView(g)
			}
			out := v.mermaid()
			if format == "dot" {
				out = v.dot()
			}
			_, err = io.WriteString(a.out, out)
			return err
		},
	}
	cmd.Flags().StringVar(&name, "pipeline", "", "draw only this pipeline")
	cmd.Flags().StringVar(&runID, "run", "", "draw what this run did, from the run ledger")
	cmd.Flags().StringVar(&format, "format", "mermaid", "output format: mermaid or dot")
	cmd.Flags().BoolVar(&runtime, "runtime", true, "draw the step events' routes to the ledger and the failures topic, dashed (off by default with --run)")
	return cmd
}

// pipelineRegistry reads the pipelines directory as `fusion run` does,
// without opening the platform: files that do not load are reported and
// left out. Without a directory (a home not yet run) it serves the sample
// pipelines a new home gets.
func (a *app) pipelineRegistry() (*pipeline.Registry, error) {
	reg, err := a.readPipelines()
	if err != nil {
		return nil, err
	}
	for _, p := range reg.Problems() {
		fmt.Fprintf(a.errOut, "fusion: left out: %v\n", p)
	}
	return reg, nil
}

// runGraph is the graph of one run: its pipeline's graph with each step's
// state from the ledger.
func (a *app) runGraph(cmd *cobra.Command, reg *pipeline.Registry, table *routing.Table, runID, name string, runtime bool) (*graphView, error) {
	if !platform.IsHome(a.cfg.Home) {
		return nil, fmt.Errorf("%s is not a fusion home (no %s): it has no runs", a.cfg.Home, platform.MetaFile)
	}
	store, err := metastore.Open(filepath.Join(a.cfg.Home, platform.MetaFile))
	if err != nil {
		return nil, err
	}
	defer store.Close()
	run, err := store.Run(cmd.Context(), runID)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, fmt.Errorf("no run %q in %s (fusion runs lists them)", runID, a.cfg.Home)
	}
	if err != nil {
		return nil, err
	}
	if name != "" && name != run.Pipeline {
		return nil, fmt.Errorf("run %s is a run of pipeline %q, not %q", run.ID, run.Pipeline, name)
	}
	var ps []*pipeline.Pipeline
	if p, err := reg.Get(run.Pipeline); err == nil {
		ps = append(ps, p)
	} else {
		fmt.Fprintf(a.errOut, "fusion: %v; drawing the run's steps without their routes\n", err)
	}
	g, err := routing.BuildGraph(table, ps, runtime)
	if err != nil {
		return nil, err
	}
	return newRunView(g, run), nil
}

// Step states as drawn.
const (
	stateSucceeded = "succeeded"
	stateFailed    = "failed"
	stateRunning   = "running"
	statePending   = "pending"
)

// graphView is a graph ready to draw: each node's label lines and state,
// each edge's label, each pipeline's title.
type graphView struct {
	g      *routing.Graph
	title  map[string]string   // by pipeline
	lines  map[string][]string // by node ID
	state  map[string]string   // by node ID: one of the step states, or "" (plain)
	labels []string            // by edge index
	run    bool                // drawing a run: states are styled
}

func newGraphView(g *routing.Graph) *graphView {
	v := &graphView{g: g, title: map[string]string{}, lines: map[string][]string{}, state: map[string]string{}}
	for _, p := range g.Pipelines {
		v.title[p] = "pipeline " + p
	}
	for _, n := range g.Nodes {
		v.lines[n.ID] = nodeLines(n)
	}
	for _, e := range g.Edges {
		v.labels = append(v.labels, e.Rule)
	}
	return v
}

// nodeLines is a node's label: its name, then what else says what it is.
func nodeLines(n routing.Node) []string {
	switch n.Kind {
	case routing.NodeStep:
		var more []string
		if n.Worker != n.Name {
			more = append(more, n.Worker)
		}
		if n.Note != "" {
			more = append(more, n.Note)
		}
		if len(more) > 0 {
			return []string{n.Name, strings.Join(more, " → ")}
		}
		return []string{n.Name}
	case routing.NodeEvent:
		if n.Note != "" {
			return []string{n.Name, n.Note}
		}
	case routing.NodeQueue:
		return []string{n.Name + " queue"}
	case routing.NodeTopic:
		return []string{n.Name + " topic"}
	}
	return []string{n.Name}
}

// newRunView draws a run over its pipeline's graph: steps styled by state
// with their rows, duration and attempt; what each step published labelled
// with its rows; expected steps that did not run pending.
func newRunView(g *routing.Graph, r ledger.Run) *graphView {
	steps := map[string]ledger.Step{}
	for _, s := range r.Steps {
		steps[s.Name] = s
	}
	// Steps the ledger knows but the pipeline (as it is now) does not.
	if len(g.Pipelines) == 0 {
		g.Pipelines = []string{r.Pipeline}
	}
	for _, s := range r.Steps {
		id := routing.StepID(r.Pipeline, s.Name)
		if _, ok := g.Node(id); !ok {
			g.Nodes = append(g.Nodes, routing.Node{ID: id, Kind: routing.NodeStep, Pipeline: r.Pipeline, Name: s.Name, Worker: s.Worker})
		}
	}
	v := newGraphView(g)
	v.run = true
	title := []string{orDash(r.Pipeline), "run " + r.ID, r.Status}
	if !r.FinishedAt.IsZero() {
		title = append(title, round(r.Duration()))
	}
	v.title[g.Pipelines[0]] = strings.Join(title, " · ")
	for _, n := range g.Nodes {
		if n.Kind != routing.NodeStep || n.Pipeline != r.Pipeline {
			continue
		}
		s, ok := steps[n.Name]
		if !ok {
			s = ledger.Step{Name: n.Name, Status: ledger.Pending}
		}
		state, lines := stepState(s)
		v.state[n.ID] = state
		v.lines[n.ID] = append(v.lines[n.ID], lines...)
	}
	// An event is pending until a step published it; what a step published
	// is labelled with its rows.
	published := map[string]bool{}
	for i, e := range g.Edges {
		if e.Kind != routing.EdgePublishes || e.Runtime {
			continue
		}
		from, _ := g.Node(e.From)
		if s, ok := steps[from.Name]; ok && s.Status == ledger.Succeeded {
			published[e.To] = true
			v.labels[i] = fmt.Sprintf("%d rows", s.RowsOut)
		}
	}
	for _, e := range g.Edges {
		if e.Kind == routing.EdgePublishes && !e.Runtime && !published[e.To] {
			v.state[e.To] = statePending
		}
	}
	// What started the run: the landed object.
	for _, n := range g.Nodes {
		if n.Kind == routing.NodeEvent && n.Pipeline == r.Pipeline && n.Note != "" && r.Input != "" {
			v.lines[n.ID] = []string{n.Name, r.Input}
		}
	}
	return v
}

// stepState is how a step of a run is drawn: its state and label lines.
func stepState(s ledger.Step) (string, []string) {
	dur := round(time.Duration(s.DurationMS) * time.Millisecond)
	attempt := ""
	if s.Attempt > 1 {
		attempt = fmt.Sprintf(" · attempt %d", s.Attempt)
	}
	rows := fmt.Sprintf("%d → %d rows", s.RowsIn, s.RowsOut)
	switch s.Status {
	case ledger.Succeeded:
		return stateSucceeded, []string{"succeeded · " + dur + attempt, rows}
	case ledger.Failed:
		lines := []string{"failed · " + dur + attempt}
		if s.Error != nil {
			lines = append(lines, oneLine(s.Error.Message, 60))
		}
		return stateFailed, lines
	case ledger.Started:
		return stateRunning, []string{"running" + attempt}
	}
	return statePending, []string{"pending"}
}
