// Package pipeline reads and validates pipeline definitions: one YAML file
// per pipeline, naming where its files land, the SQL that curates them, the
// optional training-set and inference specs, and where the results load.
package pipeline

import (
	"strings"
	"time"

	"github.com/fusiondata/fusion/messages"
)

// Pipeline is one validated pipeline definition.
type Pipeline struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description"`
	Source      Source     `yaml:"source"`
	Transform   Transform  `yaml:"transform"`
	Training    *Training  `yaml:"training"`
	Inference   *Inference `yaml:"inference"`
	Load        []Load     `yaml:"load"`
	// Retries overrides, per step, how often a transient failure is
	// retried (0-10): step names as in Steps (ingest, transform, traindata,
	// inference, load.curated, load.predictions), or load for every load.
	Retries map[string]int `yaml:"retries"`
	// Deadline, when set, is how long a run may stay open, counted from its
	// first step's start, before the run ledger flags it late and announces
	// it once on the failures topic (fusion.run.late.v1): a Go duration,
	// such as 30m or 1h30m. See DeadlineDuration.
	Deadline string `yaml:"deadline"`
	// Schedule, when set, starts runs at set times (schedule.go).
	Schedule *Schedule `yaml:"schedule"`
	// Stream, when set, takes records as they come, in micro-batches (stream.go).
	Stream *Stream `yaml:"stream"`
	// Lambda, when set, gives the pipeline a batch and a speed layer
	// feeding one serving view (lambda.go).
	Lambda *Lambda `yaml:"lambda"`
	// Preconditions guard steps: a step waits for its own before its
	// first attempt (preconditions.go).
	Preconditions []Precondition `yaml:"preconditions"`
	// Activities are steps beyond the built-in ones: copy, sql, shell
	// (activities.go).
	Activities []Activity `yaml:"activities"`

	// File is where the definition was read from; errors name it.
	File string `yaml:"-"`
}

// Source says where a pipeline's files land and how to read them.
type Source struct {
	// Prefix is the landing prefix that starts a run, e.g. landing/churn/.
	Prefix string `yaml:"prefix"`
	// Format is csv or jsonl.
	Format string `yaml:"format"`
	// Delimiter separates CSV fields; a comma by default.
	Delimiter string `yaml:"delimiter"`
	// Schema, when given, is checked against every file; otherwise the
	// schema is inferred from the data. For a Postgres source it selects
	// the columns and the types they are copied as.
	Schema []Column `yaml:"schema"`
	// Postgres, when set, makes the pipeline copy a Postgres table instead
	// of reading landed files; Prefix, Format and Delimiter do not apply.
	Postgres *PostgresSource `yaml:"postgres"`
}

// Column declares one source column.
type Column struct {
	Name     string `yaml:"name"`
	Type     string `yaml:"type"`
	Required bool   `yaml:"required"`
}

// Transform is the SQL that turns the ingested input into the curated
// dataset. The input is visible as the view (or table) "input".
type Transform struct {
	SQL string `yaml:"sql"`
	// Engine runs the SQL: duckdb (default) in the transform worker, or
	// snowflake, pushed down: the input is staged into Snowflake, the SQL
	// runs there (ELT) and the result comes back as the curated dataset.
	Engine string `yaml:"engine"`
	// Connection names the Snowflake connection (FUSION_CONN_<NAME>) of a
	// pushed-down transform; the warehouse's when empty.
	Connection string `yaml:"connection"`
}

// Transform engines.
const (
	EngineDuckDB    = "duckdb"
	EngineSnowflake = "snowflake"
)

// Training describes the training set built from the curated dataset.
type Training struct {
	Key      string   `yaml:"key"`
	Label    string   `yaml:"label"`
	Features []string `yaml:"features"`
	Split    Split    `yaml:"split"`
}

// Split holds the train/validation/test fractions; they sum to 1.
type Split struct {
	Train      float64 `yaml:"train"`
	Validation float64 `yaml:"validation"`
	Test       float64 `yaml:"test"`
}

// Inference names the registered model version that scores a dataset.
type Inference struct {
	Model   string `yaml:"model"`
	Version string `yaml:"version"`
	// Input is the dataset scored: curated (default), or a training split
	// (train, validation, test).
	Input string `yaml:"input"`
	// Keys are the columns copied next to each score; the training key by default.
	Keys []string `yaml:"keys"`
}

// Load applies one dataset of a run to a warehouse table.
type Load struct {
	Dataset string   `yaml:"dataset"` // curated or predictions
	Table   string   `yaml:"table"`
	Keys    []string `yaml:"keys"`
	Mode    string   `yaml:"mode"` // append, merge or replace
}

// Load modes.
const (
	ModeAppend  = "append"
	ModeMerge   = "merge"
	ModeReplace = "replace"
)

// Datasets a pipeline produces.
const (
	DatasetRaw         = "raw"
	DatasetCurated     = "curated"
	DatasetPredictions = "predictions"
)

// DeadlineDuration is the pipeline's deadline; 0 when it has none.
func (p *Pipeline) DeadlineDuration() time.Duration {
	d, err := time.ParseDuration(p.Deadline)
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// DatasetName is the catalog name of one of the pipeline's datasets.
func (p *Pipeline) DatasetName(dataset string) string { return p.Name + "." + dataset }

// LoadFor returns the load spec of a dataset, if the pipeline loads it.
func (p *Pipeline) LoadFor(dataset string) (Load, bool) {
	for _, l := range p.Load {
		if l.Dataset == dataset {
			return l, true
		}
	}
	return Load{}, false
}

// InferenceInput returns the dataset inference scores.
func (i *Inference) InferenceInput() string {
	if i.Input == "" {
		return DatasetCurated
	}
	return i.Input
}

// OwnsKey reports whether an object key lands under the pipeline's prefix.
// A pipeline with a Postgres source has no prefix and owns no key; nor
// does a snapshot, whose objects start no run as they arrive.
func (p *Pipeline) OwnsKey(key string) bool {
	return p.Source.Prefix != "" && !p.Source.Snapshot() && strings.HasPrefix(key, p.Source.Prefix)
}

// The workers, each consuming its own queue.
const (
	WorkerIngest    = "ingest"
	WorkerTransform = "transform"
	WorkerTraindata = "traindata"
	WorkerInference = "inference"
	WorkerLoader    = "loader"
)

// Workers lists the five workers in pipeline order.
var Workers = []string{WorkerIngest, WorkerTransform, WorkerTraindata, WorkerInference, WorkerLoader}

// Step is one step of a pipeline: a worker consuming one event type.
type Step struct {
	Name     string // ledger name: ingest, transform, traindata, inference, load.<dataset>
	Worker   string // the worker queue that runs it
	Consumes string // the detail-type that starts it
}

// Steps lists the steps a run of this pipeline goes through. A run is
// complete when each has succeeded.
func (p *Pipeline) Steps() []Step {
	start := messages.DetailTypeObjectCreated
	if p.StartsOnRequest() {
		start = messages.TypeIngestRequested // a table or a snapshot is read on request (snapshot.go)
	}
	steps := []Step{
		{Name: "ingest", Worker: WorkerIngest, Consumes: start},
		{Name: "transform", Worker: WorkerTransform, Consumes: messages.TypeDatasetIngested},
	}
	if p.Training != nil {
		steps = append(steps, Step{Name: "traindata", Worker: WorkerTraindata, Consumes: messages.TypeDatasetTransformed})
	}
	if p.Inference != nil {
		on := messages.TypeDatasetTransformed
		if p.Inference.InferenceInput() != DatasetCurated {
			on = messages.TypeTrainingDataBuilt
		}
		steps = append(steps, Step{Name: "inference", Worker: WorkerInference, Consumes: on})
	}
	for _, l := range p.Load {
		on := messages.TypeDatasetTransformed
		if l.Dataset == DatasetPredictions {
			on = messages.TypePredictionsReady
		}
		steps = append(steps, Step{Name: "load." + l.Dataset, Worker: WorkerLoader, Consumes: on})
	}
	steps = append(steps, p.lambdaSteps()...)
	return append(steps, p.activitySteps(steps)...) // activities.go
}

// StepFor returns the step a worker runs for an event type, if any.
func (p *Pipeline) StepFor(worker, detailType string) (Step, bool) {
	for _, s := range p.Steps() {
		if s.Worker == worker && s.Consumes == detailType {
			return s, true
		}
	}
	return Step{}, false
}

// MaxRetries is the most retries a pipeline may ask of a step.
const MaxRetries = 10

// RetriesFor returns the retries the pipeline sets for a step, if any: its
// own entry, else its group's (load for load.curated).
func (p *Pipeline) RetriesFor(step string) (int, bool) {
	if n, ok := p.Retries[step]; ok {
		return n, true
	}
	group, _, _ := strings.Cut(step, ".")
	n, ok := p.Retries[group]
	return n, ok
}
