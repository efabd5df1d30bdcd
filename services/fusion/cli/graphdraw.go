package cli

import (
	"fmt"
	"strings"

	"github.com/fusiondata/fusion/services/runtime/routing"
)

// The drawing of a graphView as Mermaid or DOT. Both list the pipelines'
// nodes in groups (a subgraph each), then the runtime's, then the edges,
// all in the graph's order, so the same pipelines always give the same text.

// stateOrder is the order the run states are styled in.
var stateOrder = []string{stateSucceeded, stateFailed, stateRunning, statePending}

// group is a subgraph: a pipeline's nodes or the runtime's.
type group struct {
	key     string // the pipeline; "" for the runtime's
	title   string
	runtime bool
	nodes   []int // indexes into the graph's nodes
}

// groups returns each pipeline's group, then the runtime's (if it has
// nodes), and the nodes in none.
func (v *graphView) groups() (groups []group, rest []int) {
	index := map[string]int{}
	for _, p := range v.g.Pipelines {
		index[p] = len(groups)
		groups = append(groups, group{key: p, title: v.title[p]})
	}
	rt := group{title: "runtime events", runtime: true}
	for i, n := range v.g.Nodes {
		gi, ok := index[n.Pipeline]
		switch {
		case n.Runtime:
			rt.nodes = append(rt.nodes, i)
		case ok:
			groups[gi].nodes = append(groups[gi].nodes, i)
		default:
			rest = append(rest, i)
		}
	}
	if len(rt.nodes) > 0 {
		groups = append(groups, rt)
	}
	return groups, rest
}

// mermaid draws a Mermaid flowchart.
func (v *graphView) mermaid() string {
	var b strings.Builder
	ids := newMermaidIDs()
	nodeID := map[string]string{}
	for _, n := range v.g.Nodes {
		nodeID[n.ID] = ids.get(n.ID)
	}
	b.WriteString("flowchart LR\n")
	decl := func(indent string, n routing.Node) {
		open, closing := mermaidShape(n.Kind)
		fmt.Fprintf(&b, "%s%s%s\"%s\"%s\n", indent, nodeID[n.ID], open, mermaidLabel(v.lines[n.ID]), closing)
	}
	groups, rest := v.groups()
	for _, gr := range groups {
		key := "pipeline " + gr.key
		if gr.runtime {
			key = "group runtime"
		}
		fmt.Fprintf(&b, "  subgraph %s[\"%s\"]\n    direction LR\n", ids.get(key), mermaidText(gr.title))
		for _, i := range gr.nodes {
			decl("    ", v.g.Nodes[i])
		}
		b.WriteString("  end\n")
	}
	for _, i := range rest {
		decl("  ", v.g.Nodes[i])
	}
	for i, e := range v.g.Edges {
		arrow := "-->"
		if e.Runtime {
			arrow = "-.->"
		}
		label := ""
		if v.labels[i] != "" {
			label = "|\"" + mermaidText(v.labels[i]) + "\"|"
		}
		fmt.Fprintf(&b, "  %s %s%s %s\n", nodeID[e.From], arrow, label, nodeID[e.To])
	}
	if v.run {
		b.WriteString("  classDef succeeded fill:#dcf5dc,stroke:#2e7d32,color:#1b5e20\n")
		b.WriteString("  classDef failed fill:#fde0e0,stroke:#c62828,color:#b71c1c,stroke-width:2px\n")
		b.WriteString("  classDef running fill:#fff6d5,stroke:#f9a825,color:#795500\n")
		b.WriteString("  classDef pending fill:#f4f4f4,stroke:#9e9e9e,color:#757575,stroke-dasharray:4 3\n")
		for _, st := range stateOrder {
			var of []string
			for _, n := range v.g.Nodes {
				if v.state[n.ID] == st {
					of = append(of, nodeID[n.ID])
				}
			}
			if len(of) > 0 {
				fmt.Fprintf(&b, "  class %s %s\n", strings.Join(of, ","), st)
			}
		}
	}
	return b.String()
}

func mermaidShape(kind string) (string, string) {
	switch kind {
	case routing.NodeEvent:
		return "([", "])" // stadium
	case routing.NodeQueue:
		return "[(", ")]" // cylinder
	case routing.NodeTopic:
		return "{{", "}}" // hexagon
	case routing.NodeSource:
		return "[[", "]]" // subroutine
	}
	return "[", "]"
}

func mermaidLabel(lines []string) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = mermaidText(l)
	}
	return strings.Join(out, "<br/>")
}

// mermaidText escapes text for a quoted Mermaid label: quotes, markup and
// the characters Mermaid reads inside labels become entity codes.
var mermaidEscaper = strings.NewReplacer(
	"#", "#35;", `"`, "#quot;", "&", "#amp;", "<", "#lt;", ">", "#gt;", "|", "#124;", "`", "#96;",
	"\r\n", " ", "\n", " ", "\r", " ",
)

func mermaidText(s string) string { return mermaidEscaper.Replace(s) }

// mermaidIDs gives each key an identifier of letters, digits and
// underscores, unique in the chart.
type mermaidIDs struct {
	byKey map[string]string
	used  map[string]bool
}

func newMermaidIDs() *mermaidIDs {
	return &mermaidIDs{byKey: map[string]string{}, used: map[string]bool{}}
}

func (m *mermaidIDs) get(key string) string {
	if id, ok := m.byKey[key]; ok {
		return id
	}
	var b strings.Builder
	under := false
	for _, r := range key {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	base := strings.Trim(b.String(), "_")
	if base == "" || base[0] >= '0' && base[0] <= '9' {
		base = "n_" + base
	}
	id := base
	for i := 2; m.used[id] || mermaidReserved[strings.ToLower(id)]; i++ {
		id = fmt.Sprintf("%s_%d", base, i)
	}
	m.used[id] = true
	m.byKey[key] = id
	return id
}

// mermaidReserved are words a Mermaid flowchart does not take as node ids.
var mermaidReserved = map[string]bool{"end": true, "graph": true, "flowchart": true, "subgraph": true,
	"direction": true, "class": true, "classdef": true, "click": true, "style": true, "linkstyle": true, "call": true, "href": true, "default": true}

// dot draws a Graphviz digraph.
func (v *graphView) dot() string {
	var b strings.Builder
	b.WriteString("digraph fusion {\n")
	b.WriteString("  rankdir=LR;\n")
	b.WriteString("  node [fontname=\"Helvetica\", fontsize=10];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=9];\n")
	decl := func(indent string, n routing.Node) {
		attrs := dotShape(n.Kind)
		if st := v.state[n.ID]; st != "" {
			attrs = append(attrs, dotState(n.Kind, st)...)
		} else if n.Runtime {
			attrs = append(attrs, `color="gray40"`)
		}
		attrs = append(attrs, "label="+dotQuote(strings.Join(v.lines[n.ID], "\n")))
		fmt.Fprintf(&b, "%s%s [%s];\n", indent, dotQuote(n.ID), strings.Join(attrs, ", "))
	}
	groups, rest := v.groups()
	for _, gr := range groups {
		id := "cluster_" + gr.key
		if gr.runtime {
			id = "cluster runtime"
		}
		fmt.Fprintf(&b, "  subgraph %s {\n    label=%s;\n", dotQuote(id), dotQuote(gr.title))
		if gr.runtime {
			b.WriteString("    style=dashed;\n    color=\"gray60\";\n")
		}
		for _, i := range gr.nodes {
			decl("    ", v.g.Nodes[i])
		}
		b.WriteString("  }\n")
	}
	for _, i := range rest {
		decl("  ", v.g.Nodes[i])
	}
	for i, e := range v.g.Edges {
		var attrs []string
		if v.labels[i] != "" {
			attrs = append(attrs, "label="+dotQuote(v.labels[i]))
		}
		if e.Runtime {
			attrs = append(attrs, "style=dashed", `color="gray40"`)
		}
		tail := ""
		if len(attrs) > 0 {
			tail = " [" + strings.Join(attrs, ", ") + "]"
		}
		fmt.Fprintf(&b, "  %s -> %s%s;\n", dotQuote(e.From), dotQuote(e.To), tail)
	}
	b.WriteString("}\n")
	return b.String()
}

func dotShape(kind string) []string {
	switch kind {
	case routing.NodeEvent:
		return []string{"shape=box", `style="rounded"`}
	case routing.NodeQueue:
		return []string{"shape=cylinder"}
	case routing.NodeTopic:
		return []string{"shape=hexagon"}
	case routing.NodeSource:
		return []string{"shape=component"}
	}
	return []string{"shape=box"}
}

// dotState styles a node of a run by its state.
func dotState(kind, state string) []string {
	style := "filled"
	if kind == routing.NodeEvent {
		style = "rounded,filled"
	}
	switch state {
	case stateSucceeded:
		return []string{dotKV("style", style), `fillcolor="#dcf5dc"`, `color="#2e7d32"`}
	case stateFailed:
		return []string{dotKV("style", style+",bold"), `fillcolor="#fde0e0"`, `color="#c62828"`, `fontcolor="#b71c1c"`}
	case stateRunning:
		return []string{dotKV("style", style), `fillcolor="#fff6d5"`, `color="#f9a825"`}
	}
	return []string{dotKV("style", style+",dashed"), `fillcolor="#f4f4f4"`, `color="#9e9e9e"`, `fontcolor="#757575"`}
}

func dotKV(k, v string) string { return k + "=" + dotQuote(v) }

// dotQuote makes s a DOT quoted string; a line break becomes \n.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)
	return `"` + r.Replace(s) + `"`
}
