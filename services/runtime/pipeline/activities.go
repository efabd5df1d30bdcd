package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fusiondata/fusion/messages"
)

// Activity is a step a pipeline adds beyond ingest, transform, training,
// inference and load: a copy, a SQL statement or a shell command. It is
// the step activity.<name>; it starts on the event of the step it comes
// After (a step or activity.<other>; the run's start event when omitted,
// for a pipeline whose runs start on a request) and announces
// fusion.activity.completed.v1, which later activities start on.
//
// Each kind runs on the worker suited to it: a copy moves data, so ingest
// (the worker with the lake's and the sources' credentials) runs it; a
// statement changes the warehouse, so the loader (its only writer) runs
// it; a command computes, so transform (the compute worker, scaled and
// sized for it) runs it.
type Activity struct {
	Name  string `yaml:"name"`
	After string `yaml:"after"`
	Copy  *Copy  `yaml:"copy"`
	SQL   string `yaml:"sql"` // one statement, run in the warehouse
	Shell *Shell `yaml:"shell"`
}

// Copy copies between endpoints (see Endpoint): lake to lake, the lake to
// a Postgres table, or a Postgres table or query to a Parquet object.
type Copy struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
	// Query, with From postgres://<connection>, selects what is copied.
	Query string `yaml:"query"`
	// Mode and Keys apply to a Postgres table: append (default), merge
	// (by Keys) or replace. Each run's copy is applied once, whatever the
	// mode: a rerun of the same run changes nothing.
	Mode string   `yaml:"mode"`
	Keys []string `yaml:"keys"`
	// Optional skips a copy to or from a database whose connection is
	// not configured, instead of failing (the activity succeeds, marked
	// skipped): a sample pipeline runs with or without the database.
	Optional bool `yaml:"optional"`
}

// Shell runs a command with sh -c. The command finds the run in its
// environment — FUSION_RUN_ID, FUSION_PIPELINE — and, when Dataset names
// one of the run's datasets, FUSION_DATASET_PATH (a local file; a
// directory of files for a dataset of several objects) and
// FUSION_DATASET_URI (where it lives in the lake).
type Shell struct {
	Command string `yaml:"command"`
	Dataset string `yaml:"dataset"`
	Timeout string `yaml:"timeout"` // a Go duration; 5m by default
}

// DefaultShellTimeout bounds a command without a timeout.
const DefaultShellTimeout = 5 * time.Minute

// ActivityPrefix starts the step name of an activity.
const ActivityPrefix = "activity."

// IsActivity reports whether a step name is an activity's.
func IsActivity(step string) bool { return strings.HasPrefix(step, ActivityPrefix) }

// Step is the activity's step name.
func (a Activity) Step() string { return ActivityPrefix + a.Name }

// Kind is copy, sql or shell ("" when none or several are set).
func (a Activity) Kind() string {
	kinds := a.kinds()
	if len(kinds) != 1 {
		return ""
	}
	return kinds[0]
}

func (a Activity) kinds() []string {
	var out []string
	if a.Copy != nil {
		out = append(out, messages.ActivityCopy)
	}
	if a.SQL != "" {
		out = append(out, messages.ActivitySQL)
	}
	if a.Shell != nil {
		out = append(out, messages.ActivityShell)
	}
	return out
}

// activityWorkers is the worker each kind runs on (see Activity).
var activityWorkers = map[string]string{
	messages.ActivityCopy:  WorkerIngest,
	messages.ActivitySQL:   WorkerLoader,
	messages.ActivityShell: WorkerTransform,
}

// Worker is the worker that runs the activity.
func (a Activity) Worker() string { return activityWorkers[a.Kind()] }

// Summary says in a few words what the activity does (for the graph).
func (a Activity) Summary() string {
	switch a.Kind() {
	case messages.ActivityCopy:
		return "copy to " + a.Copy.To
	case messages.ActivitySQL:
		return "sql in the warehouse"
	case messages.ActivityShell:
		return "shell"
	}
	return ""
}

// TimeoutDuration bounds a shell activity's command.
func (s Shell) TimeoutDuration() time.Duration { return durationOr(s.Timeout, DefaultShellTimeout) }

// ActivityOf returns the activity of a step name.
func (p *Pipeline) ActivityOf(step string) (Activity, bool) {
	for _, a := range p.Activities {
		if a.Step() == step {
			return a, true
		}
	}
	return Activity{}, false
}

// activitySteps are the activities' steps, after the pipeline's own steps
// (steps), each consuming what the step it follows publishes.
func (p *Pipeline) activitySteps(steps []Step) []Step {
	var out []Step
	for _, a := range p.Activities {
		out = append(out, Step{Name: a.Step(), Worker: a.Worker(), Consumes: p.consumes(a, steps)})
	}
	return out
}

// ownSteps are the pipeline's steps but its activities.
func (p *Pipeline) ownSteps() []Step {
	var out []Step
	for _, s := range p.Steps() {
		if !IsActivity(s.Name) {
			out = append(out, s)
		}
	}
	return out
}

// consumes is the event an activity starts on ("" for an unknown After).
func (p *Pipeline) consumes(a Activity, steps []Step) string {
	switch {
	case a.After == "":
		return steps[0].Consumes // the run's start event
	case IsActivity(a.After):
		if _, ok := p.ActivityOf(a.After); ok {
			return messages.TypeActivityCompleted
		}
		return ""
	}
	for _, s := range steps {
		if s.Name == a.After {
			return s.Publishes()
		}
	}
	return ""
}

// EventFilter is what, besides its type and pipeline, tells the event an
// activity step starts on from the same type published by another step:
// the dataset of the load it follows (detail.dataset.name), or the
// activity it follows (detail.activity). ok is false when the type
// suffices.
func (p *Pipeline) EventFilter(step string) (path []string, value string, ok bool) {
	a, isActivity := p.ActivityOf(step)
	if !isActivity {
		return nil, "", false
	}
	if ds, isLoad := strings.CutPrefix(a.After, "load."); isLoad {
		return []string{"dataset", "name"}, p.DatasetName(ds), true
	}
	if name, isActivity := strings.CutPrefix(a.After, ActivityPrefix); isActivity {
		return []string{"activity"}, name, true
	}
	return nil, "", false
}

// StepForEvent is StepFor for a decoded event: an activity's step is
// chosen only for the event of the step it follows (EventFilter).
func (p *Pipeline) StepForEvent(worker, detailType string, d messages.Detail) (Step, bool) {
	for _, s := range p.Steps() {
		if s.Worker != worker || s.Consumes != detailType {
			continue
		}
		path, want, filtered := p.EventFilter(s.Name)
		if !filtered {
			return s, true
		}
		var got string
		switch ev := d.(type) {
		case *messages.DatasetLoaded:
			if slices.Equal(path, []string{"dataset", "name"}) {
				got = ev.Dataset.Name
			}
		case *messages.ActivityCompleted:
			if slices.Equal(path, []string{"activity"}) {
				got = ev.Activity
			}
		}
		if got == want {
			return s, true
		}
	}
	return Step{}, false
}

// producers are the steps whose output each activity dataset is.
var producers = map[string]string{
	DatasetRaw: "ingest", DatasetCurated: "transform", "train": "traindata", "validation": "traindata",
	"test": "traindata", DatasetManifest: "traindata", DatasetPredictions: "inference",
}

// upstream lists the steps that have run before step starts (itself
// included), following After and each built-in step's input.
func (p *Pipeline) upstream(step string) map[string]bool {
	seen := map[string]bool{}
	for step != "" && !seen[step] {
		seen[step] = true
		switch {
		case IsActivity(step):
			a, _ := p.ActivityOf(step)
			step = a.After
		case step == "ingest":
			step = ""
		case step == "transform":
			step = "ingest"
		case step == "traindata":
			step = "transform"
		case step == "inference":
			step = "transform"
			if p.Inference != nil && p.Inference.InferenceInput() != DatasetCurated {
				step = "traindata"
			}
		case step == "load."+DatasetPredictions:
			step = "inference"
		case strings.HasPrefix(step, "load."):
			step = "transform"
		default:
			step = ""
		}
	}
	return seen
}

// validateActivities checks each activity: a name, one kind, a step to
// follow that exists and leads to no cycle, usable endpoints, and no other
// step of its worker starting on the same event.
func (v *validator) validateActivities(p *Pipeline) {
	builtin := p.ownSteps()
	names := map[string]int{}
	for i, a := range p.Activities {
		f := fmt.Sprintf("activities[%d]", i)
		switch _, dup := names[a.Name]; {
		case !messages.ValidName(a.Name):
			v.add(f+".name", "must be lower case letters, digits and underscores, starting with a letter (got %q)", a.Name)
		case dup:
			v.add(f+".name", "%q is declared twice", a.Name)
		case len(ruleName(p.Name, a.Step())) > 64:
			v.add(f+".name", "%q is too long: its rule, %s, must fit EventBridge's 64 characters", a.Name, ruleName(p.Name, a.Step()))
		}
		names[a.Name] = i
		switch kinds := a.kinds(); len(kinds) {
		case 0:
			v.add(f, "needs one of copy, sql or shell")
		case 1:
		default:
			v.add(f+"."+kinds[1], "an activity does one thing (it also has %s): declare another activity after it", kinds[0])
		}
	}
	for i, a := range p.Activities {
		f := fmt.Sprintf("activities[%d]", i)
		v.validateAfter(p, a, f, builtin)
		switch a.Kind() {
		case messages.ActivityCopy:
			v.validateCopy(p, a, f+".copy")
		case messages.ActivitySQL:
			if err := checkTemplate(a.SQL); err != nil {
				v.add(f+".sql", "%v", err)
			}
			if strings.TrimSpace(a.SQL) == "" {
				v.add(f+".sql", "is empty")
			}
		case messages.ActivityShell:
			v.validateShell(p, a, f+".shell")
		}
	}
	v.validateActivityConflicts(p, builtin)
}

// ruleName is the name routing.RuleName gives a step's rule.
func ruleName(pipelineName, step string) string {
	return "fusion-" + strings.ReplaceAll(pipelineName, "_", "-") + "-" + strings.ReplaceAll(step, ".", "-")
}

// validateAfter checks what the activity follows.
func (v *validator) validateAfter(p *Pipeline, a Activity, f string, builtin []Step) {
	switch {
	case a.After == "":
		if builtin[0].Consumes != messages.TypeIngestRequested {
			v.add(f+".after", "is required: a run of this pipeline starts with a landed file, which only its ingest consumes (use after: ingest)")
		}
		return
	case a.After == a.Step():
		v.add(f+".after", "an activity cannot follow itself")
		return
	case IsActivity(a.After):
		if _, ok := p.ActivityOf(a.After); !ok {
			v.add(f+".after", "%q is not an activity of this pipeline", a.After)
			return
		}
	default:
		known := false
		var steps []string
		for _, s := range builtin {
			known = known || s.Name == a.After
			steps = append(steps, s.Name)
		}
		if !known {
			v.add(f+".after", "%q is not a step of this pipeline (steps: %s, or activity.<name>)", a.After, strings.Join(steps, ", "))
			return
		}
	}
	// A chain of activities must reach a step of the pipeline.
	seen := map[string]bool{}
	for at := a; IsActivity(at.After); {
		if seen[at.After] {
			v.add(f+".after", "activities %s form a cycle", strings.Join(sortedKeys(seen), ", "))
			return
		}
		seen[at.After] = true
		next, ok := p.ActivityOf(at.After)
		if !ok {
			return // reported on that activity
		}
		at = next
	}
}

// needs reports an activity dataset the activity's run does not produce,
// or not before the activity starts.
func (v *validator) needs(p *Pipeline, a Activity, field, dataset string) {
	switch {
	case dataset == DatasetPredictions && p.Inference == nil:
		v.add(field, "dataset %s needs an inference section", dataset)
	case producers[dataset] == "traindata" && p.Training == nil:
		v.add(field, "dataset %s needs a training section", dataset)
	case !p.upstream(a.Step())[producers[dataset]] && !p.cyclic(a):
		v.add(field, "dataset %s is written by %s, which has not run when this activity starts (after: %s)", dataset, producers[dataset], afterOrStart(a))
	}
}

// cyclic reports whether a's chain of activities loops (reported elsewhere).
func (p *Pipeline) cyclic(a Activity) bool {
	seen := map[string]bool{}
	for IsActivity(a.After) {
		if seen[a.After] {
			return true
		}
		seen[a.After] = true
		next, ok := p.ActivityOf(a.After)
		if !ok {
			return false
		}
		a = next
	}
	return false
}

func afterOrStart(a Activity) string {
	if a.After == "" {
		return "the run's start"
	}
	return a.After
}

// validateCopy checks a copy's endpoints and options.
func (v *validator) validateCopy(p *Pipeline, a Activity, f string) {
	c := a.Copy
	from, ferr := ParseEndpoint(c.From)
	to, terr := ParseEndpoint(c.To)
	switch {
	case c.From == "":
		v.add(f+".from", "is required: lake:<prefix>, s3://<bucket>/<prefix>, dataset:<name> or postgres://<connection>/<table>")
	case ferr != nil:
		v.add(f+".from", "%v", ferr)
	}
	switch {
	case c.To == "":
		v.add(f+".to", "is required: lake:<prefix>, s3://<bucket>/<prefix> or postgres://<connection>/<table>")
	case terr != nil:
		v.add(f+".to", "%v", terr)
	}
	if ferr != nil || terr != nil || c.From == "" || c.To == "" {
		return
	}
	if from.Kind == EndpointDataset {
		v.needs(p, a, f+".from", from.Dataset)
	}
	switch {
	case to.Kind == EndpointDataset:
		v.add(f+".to", "a dataset is only a source; copy to lake:<prefix> instead")
	case from.Kind == EndpointPostgres && to.Kind == EndpointPostgres:
		v.add(f+".to", "copies from one database to another go through the lake: copy to lake:<prefix>, then from there")
	case to.Kind == EndpointPostgres && to.Table == "":
		v.add(f+".to", "postgres://<connection>/<table>: the table is missing")
	case to.Kind == EndpointLake && from.Kind == EndpointPostgres && !to.IsPrefix() && !strings.HasSuffix(to.Key, ".parquet"):
		v.add(f+".to", "a copy from a database writes one Parquet object: give a prefix ending in / or a key ending in .parquet (got %q)", c.To)
	case to.Kind == EndpointLake && from.Kind != EndpointPostgres && !to.IsPrefix():
		v.add(f+".to", "objects are copied under a prefix: end it with / (got %q)", c.To)
	}
	if from.Kind == EndpointPostgres {
		switch {
		case from.Table == "" && strings.TrimSpace(c.Query) == "":
			v.add(f+".from", "postgres://<connection> needs a table (postgres://<connection>/<table>) or a query")
		case from.Table != "" && c.Query != "":
			v.add(f+".query", "give either a table in from or a query, not both")
		}
	} else if c.Query != "" {
		v.add(f+".query", "only applies to a copy from postgres://<connection>")
	}
	if err := checkTemplate(c.Query); err != nil {
		v.add(f+".query", "%v", err)
	}
	if to.Kind != EndpointPostgres {
		if c.Mode != "" {
			v.add(f+".mode", "only applies to a copy into a table")
		}
		if len(c.Keys) > 0 {
			v.add(f+".keys", "only applies to a copy into a table")
		}
	} else {
		switch c.Mode {
		case "", ModeAppend, ModeReplace:
		case ModeMerge:
			if len(c.Keys) == 0 {
				v.add(f+".keys", "merge needs key columns")
			}
		default:
			v.add(f+".mode", "must be append, merge or replace (got %q)", c.Mode)
		}
	}
	if c.Optional && from.Kind != EndpointPostgres && to.Kind != EndpointPostgres {
		v.add(f+".optional", "only applies to a copy to or from a database")
	}
}

// validateShell checks a shell activity's command, dataset and timeout.
func (v *validator) validateShell(p *Pipeline, a Activity, f string) {
	s := a.Shell
	if strings.TrimSpace(s.Command) == "" {
		v.add(f+".command", "is required")
	} else if err := checkTemplate(s.Command); err != nil {
		v.add(f+".command", "%v", err)
	}
	if s.Dataset != "" {
		if !slices.Contains(ActivityDatasets, s.Dataset) {
			v.add(f+".dataset", "must be one of %s (got %q)", strings.Join(ActivityDatasets, ", "), s.Dataset)
		} else {
			v.needs(p, a, f+".dataset", s.Dataset)
		}
	}
	if s.Timeout != "" {
		d, err := time.ParseDuration(s.Timeout)
		switch {
		case err != nil || d <= 0:
			v.add(f+".timeout", "must be a positive duration such as 30s or 10m (got %q)", s.Timeout)
		case d > MaxWait:
			v.add(f+".timeout", "must be at most %v: a running step holds its message, whose visibility SQS extends for 12h at most (got %v)", MaxWait, d)
		}
	}
}

// validateActivityConflicts refuses two steps of one worker starting on
// the same event of a run: each delivery of an event runs one step of the
// worker that receives it.
func (v *validator) validateActivityConflicts(p *Pipeline, builtin []Step) {
	for i, a := range p.Activities {
		if a.Kind() == "" {
			continue
		}
		consumes := p.consumes(a, builtin)
		for _, s := range builtin {
			if s.Worker == a.Worker() && s.Consumes == consumes {
				v.add(fmt.Sprintf("activities[%d].after", i), "a %s activity runs on the %s worker, which already runs %s on the event this activity would start on (%s): put it after %s instead",
					a.Kind(), a.Worker(), s.Name, consumes, s.Name)
			}
		}
		for j, b := range p.Activities[:i] {
			if b.Kind() != "" && b.Worker() == a.Worker() && b.After == a.After {
				v.add(fmt.Sprintf("activities[%d].after", i), "activities %s and %s both run on the %s worker after %s: chain them (after: %s)",
					b.Name, a.Name, a.Worker(), afterOrStart(a), p.Activities[j].Step())
			}
		}
	}
}
