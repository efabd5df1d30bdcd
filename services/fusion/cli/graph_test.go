package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/awalterschulze/gographviz"
	"github.com/awalterschulze/gographviz/ast"

	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/metastore"
	"github.com/fusiondata/fusion/services/runtime/platform"
	"github.com/fusiondata/fusion/services/runtime/routing"
)

var update = flag.Bool("update", false, "rewrite the golden graphs under testdata/")

const samplePipelines = "../../../deploy/pipelines"

// graph runs `fusion graph` and fails the test unless it exits 0.
func graph(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := fusion(t, append([]string{"graph", "--home", t.TempDir()}, args...)...)
	if code != 0 {
		t.Fatalf("fusion graph %v exited %d: %s", args, code, errOut)
	}
	return out
}

// TestGraphGolden: the sample churn pipeline's graph, as Mermaid and DOT.
// go test ./services/fusion/cli -run TestGraphGolden -update rewrites them.
func TestGraphGolden(t *testing.T) {
	for _, format := range []string{"mermaid", "dot"} {
		t.Run(format, func(t *testing.T) {
			out := graph(t, "--pipelines", samplePipelines, "--pipeline", "churn", "--format", format)
			file := filepath.Join("testdata", "graph_churn."+map[string]string{"mermaid": "mmd", "dot": "dot"}[format])
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if out != string(want) {
				t.Errorf("fusion graph --format %s differs from %s (run with -update if the change is meant):\n%s", format, file, out)
			}
			checkGraph(t, format, out)
			if again := graph(t, "--pipelines", samplePipelines, "--pipeline", "churn", "--format", format); again != out {
				t.Error("two drawings of the same pipelines differ")
			}
			// Every sample pipeline together still makes a drawing that parses.
			checkGraph(t, format, graph(t, "--pipelines", samplePipelines, "--format", format))
		})
	}
}

// TestGraphFollowsThePipelines: the graph is derived from the pipeline
// files: a pipeline without training or inference has no traindata or
// inference step, a new file adds its pipeline, --pipeline draws one.
func TestGraphFollowsThePipelines(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "small.yaml"), []byte(smallPipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	small := graph(t, "--pipelines", dir)
	checkGraph(t, "mermaid", small)
	for _, want := range []string{`["pipeline small"]`, `small_step_transform["transform"]`, `small_step_load_curated["load.curated<br/>loader → small"]`,
		`-->|"fusion-small-load-curated"| small_step_load_curated`, `(["Object Created<br/>landing/small/"])`} {
		if !strings.Contains(small, want) {
			t.Errorf("small's graph lacks %q:\n%s", want, small)
		}
	}
	for _, absent := range []string{"traindata", "inference", "trainingdata", "predictions", "churn"} {
		if strings.Contains(small, absent) {
			t.Errorf("small's graph has %q:\n%s", absent, small)
		}
	}

	b, err := os.ReadFile(filepath.Join(samplePipelines, "churn.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "churn.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	both := graph(t, "--pipelines", dir, "--format", "dot")
	checkGraph(t, "dot", both)
	for _, want := range []string{`"cluster_churn"`, `"cluster_small"`, `"churn/step/traindata"`, `"churn/step/inference"`, `"small/step/load.curated"`} {
		if !strings.Contains(both, want) {
			t.Errorf("graph of both lacks %q:\n%s", want, both)
		}
	}
	if strings.Index(both, `"cluster_churn"`) > strings.Index(both, `"cluster_small"`) {
		t.Error("pipelines are not in name order")
	}
	if only := graph(t, "--pipelines", dir, "--pipeline", "small", "--format", "dot"); strings.Contains(only, "churn") {
		t.Errorf("--pipeline small draws churn:\n%s", only)
	}
	if noRuntime := graph(t, "--pipelines", dir, "--runtime=false"); strings.Contains(noRuntime, "fusion.step.") || strings.Contains(noRuntime, "ledger") {
		t.Errorf("--runtime=false draws the step events:\n%s", noRuntime)
	}

	// A broken file is left out and reported; the others are drawn.
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("name: broken\ncolour: blue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := fusion(t, "graph", "--home", t.TempDir(), "--pipelines", dir)
	if code != 0 || !strings.Contains(errOut, `broken.yaml:2: unknown field "colour"`) || !strings.Contains(out, "pipeline small") {
		t.Errorf("with a broken file: exit %d\n%s\n%s", code, errOut, out)
	}
}

func TestGraphErrors(t *testing.T) {
	home := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--pipelines", samplePipelines, "--format", "png"}, "--format must be mermaid or dot"},
		{[]string{"--pipelines", samplePipelines, "--pipeline", "nope"}, `no pipeline named "nope" (known: churn,`},
		{[]string{"--pipelines", t.TempDir()}, "no pipelines in"},
		{[]string{"--pipelines", samplePipelines, "--run", "20261121-155146-f3ea20"}, "is not a fusion home"},
		{[]string{"extra"}, "unknown command"},
	} {
		code, out, errOut := fusion(t, append([]string{"graph", "--home", home}, c.args...)...)
		if code == 0 || !strings.Contains(errOut, c.want) || out != "" {
			t.Errorf("graph %v: exit %d, stderr %q, stdout %q; want an error with %q", c.args, code, errOut, out, c.want)
		}
	}
}

// TestGraphEscapesNames draws names that are not plain identifiers —
// dashes, dots, spaces, quotes, markup, reserved words — and checks both
// drawings parse and keep every label.
func TestGraphEscapesNames(t *testing.T) {
	labels := []string{`say "hi"`, "a<b>&c", "#1 | 2", `back\slash`, "two\nlines", "`tick`", "end"}
	g := &routing.Graph{Pipelines: []string{"end", "my-pipe.line"}}
	for i, l := range labels {
		p := g.Pipelines[i%2]
		g.Nodes = append(g.Nodes, routing.Node{ID: p + "/step/" + l, Kind: routing.NodeStep, Pipeline: p, Name: l, Worker: "w-" + l})
		g.Nodes = append(g.Nodes, routing.Node{ID: p + "/event/" + l, Kind: routing.NodeEvent, Pipeline: p, Name: l + ".v1", Note: l})
		g.Edges = append(g.Edges, routing.Edge{From: p + "/step/" + l, To: p + "/event/" + l, Kind: routing.EdgePublishes})
		g.Edges = append(g.Edges, routing.Edge{From: p + "/event/" + l, To: g.Nodes[0].ID, Kind: routing.EdgeRoute, Rule: "rule " + l})
	}
	// Keys that collide once reduced to identifiers.
	g.Nodes = append(g.Nodes, routing.Node{ID: "end/step/a.b", Kind: routing.NodeStep, Pipeline: "end", Name: "a.b"},
		routing.Node{ID: "end/step/a-b", Kind: routing.NodeStep, Pipeline: "end", Name: "a-b"})
	g.Edges = append(g.Edges, routing.Edge{From: "end/step/a.b", To: "end/step/a-b", Kind: routing.EdgeRoute, Rule: "x"})
	v := newGraphView(g)
	v.title["end"] = `title "quoted" <b>`

	m := v.mermaid()
	checkGraph(t, "mermaid", m)
	for _, l := range labels {
		if !strings.Contains(m, mermaidText(l)) {
			t.Errorf("mermaid lacks the label %q", l)
		}
	}
	if strings.Count(m, "end_step_a_b") < 2 || !strings.Contains(m, "end_step_a_b_2") {
		t.Errorf("colliding ids not told apart:\n%s", m)
	}

	d := v.dot()
	checkGraph(t, "dot", d)
	parsed, err := gographviz.Read([]byte(d))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, n := range parsed.Nodes.Nodes {
		got[unquoteDOT(n.Attrs["label"])] = true
	}
	for _, l := range labels {
		if !got[strings.Join(nodeLines(routing.Node{Kind: routing.NodeEvent, Name: l + ".v1", Note: l}), "\n")] {
			t.Errorf("dot lost the label %q: %v", l, got)
		}
	}
}

// TestGraphOfARun: the sample's run, drawn from the ledger: six steps
// succeeded with their rows; a run whose ingest failed shows it failed and
// every other step pending.
func TestGraphOfARun(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if code, out, errOut := fusion(t, "demo", "--home", home); code != 0 {
		t.Fatalf("demo exited %d\n%s\n%s", code, out, errOut)
	}
	store, err := metastore.Open(filepath.Join(home, platform.MetaFile))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := store.Runs(context.Background(), 1)
	store.Close()
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %v %v", runs, err)
	}
	run := runs[0]

	code, m, errOut := fusion(t, "graph", "--home", home, "--run", run.ID)
	if code != 0 {
		t.Fatalf("graph --run exited %d: %s", code, errOut)
	}
	checkGraph(t, "mermaid", m)
	if len(run.Steps) != 6 {
		t.Fatalf("run has %d steps", len(run.Steps))
	}
	succeeded := classOf(m, "succeeded")
	for _, s := range run.Steps {
		id := "churn_step_" + strings.ReplaceAll(s.Name, ".", "_")
		label := fmt.Sprintf(`%s["%s<br/>`, id, s.Name)
		rows := fmt.Sprintf("succeeded · %s<br/>%d → %d rows", round(msDuration(s.DurationMS)), s.RowsIn, s.RowsOut)
		if !strings.Contains(m, label) || !strings.Contains(m, rows) || !succeeded[id] {
			t.Errorf("step %s is not drawn succeeded with %q:\n%s", s.Name, rows, m)
		}
	}
	for _, want := range []string{"churn · run " + run.ID + " · succeeded", "10000 → 9955 rows", `churn_step_transform -->|"9955 rows"| churn_event_fusion_dataset_transformed_v1`,
		"Object Created<br/>" + run.Input} {
		if !strings.Contains(m, want) {
			t.Errorf("run graph lacks %q:\n%s", want, m)
		}
	}
	if len(classOf(m, "pending"))+len(classOf(m, "failed")) > 0 || strings.Contains(m, "fusion.step.") {
		t.Errorf("a succeeded run has pending or failed nodes, or the step events:\n%s", m)
	}
	code, d, errOut := fusion(t, "graph", "--home", home, "--run", run.ID, "--format", "dot", "--pipeline", "churn")
	if code != 0 {
		t.Fatalf("graph --run --format dot exited %d: %s", code, errOut)
	}
	checkGraph(t, "dot", d)
	if strings.Count(d, `fillcolor="#dcf5dc"`) != 6 || !strings.Contains(d, `"churn/step/transform" -> "churn/event/fusion.dataset.transformed.v1" [label="9955 rows"]`) {
		t.Errorf("dot of the run:\n%s", d)
	}

	// A run that failed at ingest: the rest never ran.
	p := embedded(t, map[string]string{"churn.yaml": churnPipeline(t, "churn_lgbm")})
	failed := land(t, p, "landing/churn/ragged.csv", "customer_id,plan\n1\n")
	if failed.Status != ledger.Failed {
		t.Fatalf("run %+v", failed)
	}
	code, m, errOut = fusion(t, "graph", "--home", p.Config.Home, "--run", failed.ID)
	if code != 0 {
		t.Fatalf("graph --run of a failed run exited %d: %s", code, errOut)
	}
	checkGraph(t, "mermaid", m)
	if f := classOf(m, "failed"); len(f) != 1 || !f["churn_step_ingest"] || !strings.Contains(m, `churn_step_ingest["ingest<br/>failed · `) {
		t.Errorf("ingest not drawn failed:\n%s", m)
	}
	pending := classOf(m, "pending")
	for _, s := range []string{"transform", "traindata", "inference", "load_curated", "load_predictions"} {
		if !pending["churn_step_"+s] || !strings.Contains(m, "churn_step_"+s+`["`) {
			t.Errorf("step %s not drawn pending:\n%s", s, m)
		}
	}
	if !pending["churn_event_fusion_dataset_ingested_v1"] || len(classOf(m, "succeeded")) != 0 {
		t.Errorf("events of a failed run:\n%s", m)
	}
	if !strings.Contains(m, "churn · run "+failed.ID+" · failed") {
		t.Errorf("title of a failed run:\n%s", m)
	}
	code, d, _ = fusion(t, "graph", "--home", p.Config.Home, "--run", failed.ID, "--format", "dot")
	checkGraph(t, "dot", d)
	if code != 0 || strings.Count(d, `fillcolor="#fde0e0"`) != 1 || strings.Count(d, `fillcolor="#f4f4f4"`) < 5 {
		t.Errorf("dot of the failed run:\n%s", d)
	}

	// A run no pipeline claimed: its step, without routes.
	orphan := land(t, p, "landing/nobody/x.csv", "a\n1\n")
	code, m, errOut = fusion(t, "graph", "--home", p.Config.Home, "--run", orphan.ID)
	checkGraph(t, "mermaid", m)
	if code != 0 || !classOf(m, "failed")["step_ingest"] || !strings.Contains(errOut, "without their routes") || strings.Contains(m, "-->") {
		t.Errorf("graph of a run without a pipeline: exit %d, %s\n%s", code, errOut, m)
	}

	// Unknown runs and a run of another pipeline are errors.
	if code, _, errOut := fusion(t, "graph", "--home", home, "--run", "20000101-000000-000000"); code == 0 || !strings.Contains(errOut, `no run "20000101-000000-000000"`) {
		t.Errorf("unknown run: exit %d, %s", code, errOut)
	}
	if code, _, errOut := fusion(t, "graph", "--home", home, "--run", run.ID, "--pipeline", "small"); code == 0 || !strings.Contains(errOut, `is a run of pipeline "churn"`) {
		t.Errorf("run of another pipeline: exit %d, %s", code, errOut)
	}
}

func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// classOf returns the Mermaid node ids given a class by `class ... NAME`.
func classOf(mermaid, class string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(mermaid, "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "class" && f[2] == class {
			for _, id := range strings.Split(f[1], ",") {
				out[id] = true
			}
		}
	}
	return out
}

// checkGraph checks a drawing is well formed: DOT is parsed by a Graphviz
// grammar (gographviz) and every edge names declared nodes; every line of
// Mermaid is a statement this command writes, subgraphs are closed, labels
// carry no bare quote, and edges and classes name declared nodes.
func checkGraph(t *testing.T, format, text string) {
	t.Helper()
	if format == "dot" {
		checkDOT(t, text)
	} else {
		checkMermaid(t, text)
	}
}

func checkDOT(t *testing.T, text string) {
	t.Helper()
	if _, err := gographviz.Read([]byte(text)); err != nil { // parses and checks attribute names
		t.Fatalf("DOT does not parse: %v\n%s", err, text)
	}
	tree, err := gographviz.ParseString(text)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	var edges [][2]string
	var walk func(ast.StmtList)
	walk = func(stmts ast.StmtList) {
		for _, s := range stmts {
			switch s := s.(type) {
			case *ast.NodeStmt:
				declared[s.NodeID.String()] = true
			case *ast.EdgeStmt:
				from := s.Source.GetID().String()
				for _, r := range s.EdgeRHS {
					to := r.Destination.GetID().String()
					edges = append(edges, [2]string{from, to})
					from = to
				}
			case *ast.SubGraph:
				walk(s.StmtList)
			}
		}
	}
	walk(tree.StmtList)
	if len(declared) == 0 {
		t.Errorf("no nodes:\n%s", text)
	}
	for _, e := range edges {
		if !declared[e[0]] || !declared[e[1]] {
			t.Errorf("edge %s -> %s names an undeclared node", e[0], e[1])
		}
	}
}

var (
	mermaidID     = `[A-Za-z_][A-Za-z0-9_]*`
	mermaidQuoted = `"[^"]*"`
	mermaidNode   = regexp.MustCompile(`^\s*(` + mermaidID + `)(\[\[|\[\(|\(\[|\{\{|\[)(` + mermaidQuoted + `)(\]\]|\)\]|\]\)|\}\}|\])$`)
	mermaidEdge   = regexp.MustCompile(`^\s*(` + mermaidID + `) (-->|-\.->)(\|` + mermaidQuoted + `\|)? (` + mermaidID + `)$`)
	mermaidSub    = regexp.MustCompile(`^\s*subgraph (` + mermaidID + `)\[` + mermaidQuoted + `\]$`)
	mermaidDef    = regexp.MustCompile(`^\s*classDef (` + mermaidID + `) [a-z-]+:[^ ,]+( [^ ,]+)?(,[a-z-]+:[^ ,]+( [^ ,]+)?)*$`)
	mermaidClass  = regexp.MustCompile(`^\s*class (` + mermaidID + `(?:,` + mermaidID + `)*) (` + mermaidID + `)$`)
	mermaidShapes = map[string]string{"[": "]", "[[": "]]", "[(": ")]", "([": "])", "{{": "}}"}
)

func checkMermaid(t *testing.T, text string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if lines[0] != "flowchart LR" {
		t.Fatalf("first line %q", lines[0])
	}
	nodes, classes, depth := map[string]bool{}, map[string]bool{}, 0
	var edges [][2]string
	var used [][2]string // class, node
	for i, line := range lines[1:] {
		switch m := mermaidNode.FindStringSubmatch(line); {
		case m != nil:
			if nodes[m[1]] || mermaidReserved[strings.ToLower(m[1])] {
				t.Errorf("line %d: node %s declared twice or reserved", i+2, m[1])
			}
			if mermaidShapes[m[2]] != m[4] {
				t.Errorf("line %d: shape %s closed by %s", i+2, m[2], m[4])
			}
			nodes[m[1]] = true
		case mermaidSub.MatchString(line):
			depth++
		case strings.TrimSpace(line) == "end":
			depth--
		case strings.TrimSpace(line) == "direction LR":
		case mermaidEdge.MatchString(line):
			m := mermaidEdge.FindStringSubmatch(line)
			edges = append(edges, [2]string{m[1], m[4]})
		case mermaidDef.MatchString(line):
			classes[mermaidDef.FindStringSubmatch(line)[1]] = true
		case mermaidClass.MatchString(line):
			m := mermaidClass.FindStringSubmatch(line)
			for _, id := range strings.Split(m[1], ",") {
				used = append(used, [2]string{m[2], id})
			}
		default:
			t.Errorf("line %d is no statement this checker knows: %q", i+2, line)
		}
		if depth < 0 {
			t.Fatalf("line %d: end without subgraph", i+2)
		}
	}
	if depth != 0 {
		t.Errorf("%d subgraphs not closed", depth)
	}
	if len(nodes) == 0 {
		t.Errorf("no nodes:\n%s", text)
	}
	for _, e := range edges {
		if !nodes[e[0]] || !nodes[e[1]] {
			t.Errorf("edge %s --> %s names an undeclared node", e[0], e[1])
		}
	}
	for _, u := range used {
		if !classes[u[0]] || !nodes[u[1]] {
			t.Errorf("class %s of %s: undefined class or undeclared node", u[0], u[1])
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

// unquoteDOT undoes dotQuote.
func unquoteDOT(s string) string {
	s = strings.TrimSuffix(strings.TrimPrefix(s, `"`), `"`)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
