package routing

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// Graph is how events flow through a set of pipelines, derived from the
// routing rules rather than drawn by hand: each step publishes an event
// (pipeline.Step.Publishes), the rules deliver that event to worker queues,
// and the worker runs the pipeline step bound to it (Pipeline.StepForEvent),
// just as the runtime does. Nodes and edges are in a stable order.
type Graph struct {
	Pipelines []string // the pipelines drawn, in order
	Nodes     []Node
	Edges     []Edge
}

// Node kinds.
const (
	NodeStep   = "step"   // a pipeline step, run by a worker
	NodeEvent  = "event"  // an event type, as one pipeline's runs publish it
	NodeQueue  = "queue"  // a queue a rule targets that is no step's (the ledger's)
	NodeTopic  = "topic"  // a topic fanning out to queues (failures)
	NodeSource = "source" // who publishes events outside the pipelines' data flow, by the contract's source (fusion.runtime)
)

// Node is one node of a Graph.
type Node struct {
	// ID is unique within the graph and stable: <pipeline>/step/<step>,
	// <pipeline>/event/<detail-type>, runtime/event/<detail-type>,
	// source/<event source>, queue/<name>, topic/<name>.
	ID       string
	Kind     string
	Pipeline string // the pipeline it belongs to; "" for the runtime's part
	Name     string // step name, detail-type, queue or topic name
	Worker   string // a step's worker
	Note     string // where a run's first event comes from (a landing prefix); a load's table
	Runtime  bool   // part of the runtime's events (step events...) and their routes, not of a pipeline's data flow
}

// Edge kinds.
const (
	EdgePublishes = "publishes" // a step (or a source) publishes an event
	EdgeRoute     = "route"     // a rule delivers an event to a target
	EdgeSubscribe = "subscribe" // a topic delivers to a subscribed queue
)

// Edge is one edge of a Graph.
type Edge struct {
	From, To string // node IDs
	Kind     string
	Rule     string // the rule of a route
	Runtime  bool
}

// BuildGraph derives the graph of pipelines ps from a routing table (the
// table of every pipeline deployed, usually NewTable(ForPipelines(all))).
// With runtime, the events outside the pipelines' data flow and their
// routes (step events to the ledger queue and the failures topic...) are
// included, once for all pipelines.
func BuildGraph(t *Table, ps []*pipeline.Pipeline, runtime bool) (*Graph, error) {
	b := &graphBuilder{g: &Graph{}, nodes: map[string]bool{}, edges: map[Edge]bool{}}
	for _, p := range ps {
		if err := b.pipeline(t, p); err != nil {
			return nil, err
		}
	}
	if runtime {
		if err := b.runtime(t, ps); err != nil {
			return nil, err
		}
	}
	return b.g, nil
}

// Node returns the node with this ID.
func (g *Graph) Node(id string) (Node, bool) {
	for _, n := range g.Nodes {
		if n.ID == id {
			return n, true
		}
	}
	return Node{}, false
}

// StepID is the node ID of a pipeline's step.
func StepID(pipelineName, step string) string { return pipelineName + "/step/" + step }

// EventID is the node ID of an event type as a pipeline's runs publish it.
func EventID(pipelineName, detailType string) string { return pipelineName + "/event/" + detailType }

type graphBuilder struct {
	g     *Graph
	nodes map[string]bool
	edges map[Edge]bool
}

func (b *graphBuilder) node(n Node) {
	if b.nodes[n.ID] {
		return
	}
	b.nodes[n.ID] = true
	b.g.Nodes = append(b.g.Nodes, n)
}

func (b *graphBuilder) edge(e Edge) {
	if b.edges[e] {
		return
	}
	b.edges[e] = true
	b.g.Edges = append(b.g.Edges, e)
}

func (b *graphBuilder) pipeline(t *Table, p *pipeline.Pipeline) error {
	b.g.Pipelines = append(b.g.Pipelines, p.Name)
	steps := p.Steps()
	published := map[string]bool{}
	for _, s := range steps {
		published[s.Publishes()] = true
	}
	// Events in the order a run meets them: what starts it, then what each
	// step publishes; each followed by who publishes it and where it goes.
	var events []string
	producers := map[string][]string{}
	for _, s := range steps {
		if !published[s.Consumes] && !slices.Contains(events, s.Consumes) {
			events = append(events, s.Consumes) // from outside the pipeline
		}
	}
	for _, s := range steps {
		out := s.Publishes()
		if !slices.Contains(events, out) {
			events = append(events, out)
		}
		producers[out] = append(producers[out], s.Name)
	}
	// Nodes in the order a run meets them: what starts it, then each step
	// followed by what it publishes.
	for _, dt := range events {
		if len(producers[dt]) == 0 {
			b.node(Node{ID: EventID(p.Name, dt), Kind: NodeEvent, Pipeline: p.Name, Name: dt, Note: entryNote(p, dt)})
		}
	}
	for _, s := range steps {
		note := ""
		if ds, ok := strings.CutPrefix(s.Name, "load."); ok {
			if l, ok := p.LoadFor(ds); ok {
				note = l.Table
			}
		}
		if a, ok := p.ActivityOf(s.Name); ok {
			note = a.Summary()
		}
		b.node(Node{ID: StepID(p.Name, s.Name), Kind: NodeStep, Pipeline: p.Name, Name: s.Name, Worker: s.Worker, Note: note})
		b.node(Node{ID: EventID(p.Name, s.Publishes()), Kind: NodeEvent, Pipeline: p.Name, Name: s.Publishes()})
	}
	for _, dt := range events {
		for _, s := range producers[dt] {
			b.edge(Edge{From: StepID(p.Name, s), To: EventID(p.Name, dt), Kind: EdgePublishes})
		}
		rules, err := matchProbes(t, p, dt, producers[dt]) // activities.go
		if err != nil {
			return err
		}
		for _, r := range rules {
			var to string
			if s, ok := stepOfRule(p, r, dt); ok {
				to = StepID(p.Name, s.Name) // the step the worker runs for it
			} else {
				to = b.target(r, false)
			}
			b.edge(Edge{From: EventID(p.Name, dt), To: to, Kind: EdgeRoute, Rule: r.Name})
		}
	}
	return nil
}

// runtime adds the events no pipeline step publishes or consumes — the
// step events the runtime publishes for every step, whatever else the
// platform announces (late runs) — with their producer, named by the
// contract's source, and where the rules send them. Events no rule routes
// are left out.
func (b *graphBuilder) runtime(t *Table, ps []*pipeline.Pipeline) error {
	steps := map[string]bool{}
	for _, w := range pipeline.Workers {
		steps[pipeline.Step{Worker: w}.Publishes()] = true
	}
	for _, p := range ps {
		for _, s := range p.Steps() {
			steps[s.Consumes] = true
		}
	}
	for _, c := range messages.Contracts() {
		if steps[c.DetailType] {
			continue
		}
		var routes []Rule
		for _, p := range ps {
			env, err := probe(p.Name, p.Source.Prefix, c.DetailType)
			if err != nil {
				return err
			}
			rules, err := t.MatchEnvelope(env)
			if err != nil {
				return err
			}
			routes = append(routes, rules...)
		}
		if len(routes) == 0 {
			continue
		}
		from, id := "source/"+c.Source, "runtime/event/"+c.DetailType
		b.node(Node{ID: from, Kind: NodeSource, Name: c.Source, Runtime: true})
		b.node(Node{ID: id, Kind: NodeEvent, Name: c.DetailType, Runtime: true})
		b.edge(Edge{From: from, To: id, Kind: EdgePublishes, Runtime: true})
		for _, r := range routes {
			to := b.target(r, true)
			b.edge(Edge{From: id, To: to, Kind: EdgeRoute, Rule: r.Name, Runtime: true})
			for _, tp := range Topics() {
				if !r.IsTopic() || tp.Name != r.Target {
					continue
				}
				for _, q := range tp.Queues {
					b.node(Node{ID: "queue/" + q, Kind: NodeQueue, Name: q, Runtime: true})
					b.edge(Edge{From: to, To: "queue/" + q, Kind: EdgeSubscribe, Runtime: true})
				}
			}
		}
	}
	return nil
}

// target adds the node of a rule's target that is not a pipeline step.
func (b *graphBuilder) target(r Rule, runtime bool) string {
	if r.IsTopic() {
		b.node(Node{ID: "topic/" + r.Target, Kind: NodeTopic, Name: r.Target, Runtime: runtime})
		return "topic/" + r.Target
	}
	b.node(Node{ID: "queue/" + r.Target, Kind: NodeQueue, Name: r.Target, Runtime: runtime})
	return "queue/" + r.Target
}

// probe is an event of a detail-type as one of the pipeline's runs
// publishes it, holding what the rules look at: source, detail-type, the
// pipeline and, for a landed object, its key.
func probe(pipelineName, prefix, detailType string) (messages.Envelope, error) {
	if detailType == messages.DetailTypeObjectCreated {
		return messages.NewObjectCreated("lake", messages.CreatedObject{Key: prefix + "input.csv", Size: 1}, time.Unix(0, 0))
	}
	c, ok := messages.Lookup(detailType)
	if !ok {
		return messages.Envelope{}, fmt.Errorf("%w %q", messages.ErrUnknownType, detailType)
	}
	detail, err := json.Marshal(messages.RunRef{RunID: "graph", Pipeline: pipelineName})
	if err != nil {
		return messages.Envelope{}, err
	}
	return messages.Envelope{Version: "0", ID: "graph", Source: c.Source, DetailType: detailType, Resources: []string{}, Detail: detail}, nil
}

// entryNote says where a run's first event comes from.
func entryNote(p *pipeline.Pipeline, detailType string) string {
	if detailType == messages.DetailTypeObjectCreated {
		return p.Source.Prefix
	}
	if c, ok := messages.Lookup(detailType); ok {
		return c.Source
	}
	return ""
}
