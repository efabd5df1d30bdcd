package routing

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// Rule sends the events its pattern matches to one target: a queue (like an
// EventBridge rule with an SQS target) or a topic that fans out to queues
// (SNS with SQS subscriptions).
type Rule struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Target      string          `json:"target"`
	Kind        string          `json:"kind,omitempty"` // KindQueue (default) or KindTopic
	Pattern     json.RawMessage `json:"pattern"`
}

// Target kinds.
const (
	KindQueue = "queue"
	KindTopic = "topic"
)

// IsTopic reports whether the rule targets a topic.
func (r Rule) IsTopic() bool { return r.Kind == KindTopic }

// Topic fans an event out to every queue subscribed to it.
type Topic struct {
	Name   string   `json:"name"`
	Queues []string `json:"queues"`
}

// LedgerQueue receives every step event for the run ledger.
const LedgerQueue = "ledger"

// FailuresTopic is where failed steps and late runs are announced;
// FailuresQueue is its standing subscriber (more can be added, email for
// instance, on AWS).
const (
	FailuresTopic = "failures"
	FailuresQueue = "failures"
)

// Topics lists the topics and their queue subscriptions.
func Topics() []Topic {
	return []Topic{{Name: FailuresTopic, Queues: []string{FailuresQueue}}}
}

// ruleNameRE is EventBridge's rule name syntax.
var ruleNameRE = regexp.MustCompile(`^[\.\-_A-Za-z0-9]{1,64}$`)

// BaseRules are the rules every deployment has, whatever its pipelines:
// landed objects go to ingest (which finds their pipeline, or quarantines
// them when none claims them), step events go to the ledger, and failed
// steps and late runs are announced on the failures topic.
func BaseRules() []Rule {
	return []Rule{
		{
			Name:        "fusion-ingest-landed-objects",
			Description: "New objects under landing/ start a run",
			Target:      pipeline.WorkerIngest,
			Pattern:     json.RawMessage(`{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"object":{"key":[{"prefix":"landing/"}]}}}`),
		},
		{
			Name:        "fusion-ledger-steps",
			Description: "Step events build the run ledger",
			Target:      LedgerQueue,
			Pattern:     json.RawMessage(`{"source":["fusion.runtime"],"detail-type":[{"prefix":"fusion.step."}]}`),
		},
		{
			Name:        "fusion-notify-failures",
			Description: "A failed step is announced on the failures topic",
			Target:      FailuresTopic,
			Kind:        KindTopic,
			Pattern:     json.RawMessage(`{"source":["fusion.runtime"],"detail-type":["fusion.step.failed.v1"]}`),
		},
		{
			Name:        "fusion-notify-late-runs",
			Description: "A run past its pipeline's deadline is announced on the failures topic",
			Target:      FailuresTopic,
			Kind:        KindTopic,
			Pattern:     json.RawMessage(`{"source":["fusion.ledger"],"detail-type":["fusion.run.late.v1"]}`),
		},
	}
}

// ForPipelines derives the rules of a set of pipelines: one rule per step
// but the ingest of landed files (the landing rule covers it), matching the
// event that starts the step for that pipeline — an ingest request for a
// pipeline with a Postgres source, the previous step's event otherwise.
func ForPipelines(ps []*pipeline.Pipeline) []Rule {
	rules := BaseRules()
	for _, p := range ps {
		for _, s := range p.Steps() {
			if s.Consumes == messages.DetailTypeObjectCreated {
				continue // covered by the landing rule
			}
			c, _ := messages.Lookup(s.Consumes)
			pattern := stepPattern(p, s, c.Source) // activities.go
			rules = append(rules, Rule{
				Name:        RuleName(p.Name, s.Name),
				Description: fmt.Sprintf("%s: %s runs %s", p.Name, s.Worker, s.Name),
				Target:      s.Worker,
				Pattern:     json.RawMessage(pattern),
			})
		}
		rules = append(rules, streamRules(p)...)
	}
	return rules
}

// RuleName names a pipeline step's rule within EventBridge's syntax.
func RuleName(pipelineName, step string) string {
	return "fusion-" + strings.ReplaceAll(pipelineName, "_", "-") + "-" + strings.ReplaceAll(step, ".", "-")
}

// Table is a compiled, validated set of rules.
type Table struct {
	rules    []Rule
	patterns []*Pattern
}

// NewTable compiles rules, refusing bad patterns and duplicate names.
func NewTable(rules []Rule) (*Table, error) {
	t := &Table{}
	seen := map[string]bool{}
	for _, r := range rules {
		if !ruleNameRE.MatchString(r.Name) {
			return nil, fmt.Errorf("rule %q: name must be 1-64 of [.-_A-Za-z0-9]", r.Name)
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("rule %q is defined twice", r.Name)
		}
		seen[r.Name] = true
		if r.Target == "" {
			return nil, fmt.Errorf("rule %q has no target", r.Name)
		}
		if r.Kind != "" && r.Kind != KindQueue && r.Kind != KindTopic {
			return nil, fmt.Errorf("rule %q: kind must be %s or %s", r.Name, KindQueue, KindTopic)
		}
		p, err := Compile(r.Pattern)
		if err != nil {
			return nil, fmt.Errorf("rule %q: %w", r.Name, err)
		}
		t.rules = append(t.rules, r)
		t.patterns = append(t.patterns, p)
	}
	return t, nil
}

// Rules returns the table's rules.
func (t *Table) Rules() []Rule { return t.rules }

// Match returns the rules an event matches. As on EventBridge, each
// matching rule delivers its own copy.
func (t *Table) Match(event any) []Rule {
	var out []Rule
	for i, p := range t.patterns {
		if p.Match(event) {
			out = append(out, t.rules[i])
		}
	}
	return out
}

// MatchEnvelope matches an envelope as EventBridge sees it.
func (t *Table) MatchEnvelope(env messages.Envelope) ([]Rule, error) {
	body, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	v, err := Decode(body)
	if err != nil {
		return nil, err
	}
	return t.Match(v), nil
}
