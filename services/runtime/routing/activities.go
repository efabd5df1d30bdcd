package routing

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// stepPattern is the pattern of a step's rule: the event type it starts
// on, from that type's source, for its pipeline — and, for an activity,
// only as the step it follows publishes it (pipeline.EventFilter: the
// dataset of a load, the name of an activity), since several steps of a
// run publish loads and activity completions.
func stepPattern(p *pipeline.Pipeline, s pipeline.Step, source string) string {
	extra := ""
	if path, value, ok := p.EventFilter(s.Name); ok {
		var leaf any = []string{value}
		for i := len(path) - 1; i > 0; i-- {
			leaf = map[string]any{path[i]: leaf}
		}
		b, _ := json.Marshal(leaf)
		extra = fmt.Sprintf(",%q:%s", path[0], b)
	}
	return fmt.Sprintf(`{"source":[%q],"detail-type":[%q],"detail":{"pipeline":[%q]%s}}`, source, s.Consumes, p.Name, extra)
}

// matchProbes returns the rules that deliver a detail-type as the
// pipeline's runs publish it: for each step producing it (a load's event
// names its dataset, an activity's its name), or as it enters the
// pipeline from outside when no step produces it. Each rule once, in
// table order.
func matchProbes(t *Table, p *pipeline.Pipeline, detailType string, producers []string) ([]Rule, error) {
	env, err := probe(p.Name, p.Source.Prefix, detailType)
	if err != nil {
		return nil, fmt.Errorf("pipeline %s: %w", p.Name, err)
	}
	envs := []messages.Envelope{env}
	for _, step := range producers {
		detail := map[string]any{"run_id": "graph", "pipeline": p.Name}
		if ds, ok := strings.CutPrefix(step, "load."); ok {
			detail["dataset"] = map[string]any{"name": p.DatasetName(ds)}
		}
		if name, ok := strings.CutPrefix(step, pipeline.ActivityPrefix); ok {
			detail["activity"] = name
		}
		e := env
		if e.Detail, err = json.Marshal(detail); err != nil {
			return nil, err
		}
		envs = append(envs, e)
	}
	matched := map[string]bool{}
	for _, e := range envs {
		rules, err := t.MatchEnvelope(e)
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			matched[r.Name] = true
		}
	}
	var out []Rule
	for _, r := range t.Rules() {
		if matched[r.Name] {
			out = append(out, r)
		}
	}
	return out, nil
}

// stepOfRule is the step of p a rule delivers an event type to: the step
// the rule was made for (RuleName), else the built-in step its target
// worker runs on that type (the landed-object rule's ingest).
func stepOfRule(p *pipeline.Pipeline, r Rule, detailType string) (pipeline.Step, bool) {
	if r.IsTopic() {
		return pipeline.Step{}, false
	}
	steps := p.Steps()
	for _, s := range steps {
		if RuleName(p.Name, s.Name) == r.Name {
			return s, true
		}
	}
	for _, s := range steps {
		if !pipeline.IsActivity(s.Name) && s.Worker == r.Target && s.Consumes == detailType {
			return s, true
		}
	}
	return pipeline.Step{}, false
}
