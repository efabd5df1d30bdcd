package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/fusiondata/fusion/messages"
)

// Error is a problem in a pipeline file, located as precisely as possible.
type Error struct {
	File  string // the file's path
	Line  int    // 1-based; 0 when unknown
	Field string // dotted path, e.g. load[0].mode
	Msg   string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// Parse reads one pipeline definition. Unknown fields and bad values are
// errors that name the file, the line and the field; all problems are
// reported together (errors.Join of *Error).
func Parse(file string, data []byte) (*Pipeline, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{File: file, Msg: "the file is empty"}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(file, err)
	}
	var p Pipeline
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, yamlError(file, err)
	}
	p.File = file
	p.setDefaults()
	if err := p.validate(&root); err != nil {
		return nil, err
	}
	return &p, nil
}

var (
	lineRE    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownRE = regexp.MustCompile(`field (\S+) not found in type pipeline\.(\w+)`)
)

// yamlError turns yaml.v3's messages into located errors.
func yamlError(file string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
			var line int
			fmt.Sscan(m[1], &line)
			return &Error{File: file, Line: line, Msg: "invalid YAML: " + m[2]}
		}
		return &Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var errs []error
	for _, msg := range te.Errors {
		e := &Error{File: file, Msg: msg}
		if m := lineRE.FindStringSubmatch(msg); m != nil {
			fmt.Sscan(m[1], &e.Line)
			e.Msg = m[2]
		}
		if m := unknownRE.FindStringSubmatch(e.Msg); m != nil {
			e.Msg = fmt.Sprintf("unknown field %q in %s", m[1], sectionOf(m[2]))
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

func sectionOf(goType string) string {
	switch goType {
	case "Pipeline":
		return "the pipeline"
	case "Column":
		return "source.schema"
	case "PostgresSource":
		return "source.postgres"
	case "LambdaBatch", "LambdaSpeed":
		return "lambda." + strings.ToLower(goType[len("Lambda"):])
	case "Precondition":
		return "a precondition"
	case "Activity":
		return "an activity"
	case "TableRows":
		return "table_has_rows"
	}
	return strings.ToLower(goType)
}

func (p *Pipeline) setDefaults() {
	files := p.Source.Postgres == nil // a table has no landing prefix, format or delimiter
	if files && p.Source.Format == "" {
		p.Source.Format = "csv"
	}
	if p.Transform.Engine == "" {
		p.Transform.Engine = EngineDuckDB
	}
	if files && p.Source.Format == "csv" && p.Source.Delimiter == "" {
		p.Source.Delimiter = ","
	}
	if files && p.Source.Prefix == "" && messages.ValidName(p.Name) {
		p.Source.Prefix = "landing/" + p.Name + "/"
	}
	for i := range p.Source.Schema {
		p.Source.Schema[i].Type = strings.ToUpper(strings.TrimSpace(p.Source.Schema[i].Type))
	}
	if p.Inference != nil && len(p.Inference.Keys) == 0 && p.Training != nil {
		p.Inference.Keys = []string{p.Training.Key}
	}
	for i := range p.Load {
		if p.Load[i].Mode == "" {
			p.Load[i].Mode = ModeMerge
			if len(p.Load[i].Keys) == 0 {
				p.Load[i].Mode = ModeAppend
			}
		}
	}
}

// SupportedTypes are the column types a source schema may declare.
var SupportedTypes = []string{"BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "FLOAT", "DOUBLE", "DECIMAL", "VARCHAR", "DATE", "TIMESTAMP", "TIMESTAMPTZ"}

var decimalRE = regexp.MustCompile(`^DECIMAL\((\d{1,2}),\s*(\d{1,2})\)$`)

func supportedType(t string) bool {
	if decimalRE.MatchString(t) {
		return true
	}
	for _, s := range SupportedTypes {
		if t == s {
			return true
		}
	}
	return false
}

// tableRE allows a table name with an optional schema: analytics.churn.
var tableRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$`)

func (p *Pipeline) validate(root *yaml.Node) error {
	v := validator{file: p.File, root: root}
	if !messages.ValidName(p.Name) {
		v.add("name", "must be lower case letters, digits and underscores, starting with a letter (got %q)", p.Name)
	}

	s := p.Source
	if s.Postgres != nil {
		v.validatePostgres(s)
	} else {
		v.validateFiles(s)
	}
	if s.Snapshot() {
		v.validateSnapshot(p)
	}
	v.validateSchedule(p) // schedule.go
	v.validateLambda(p)
	v.validateStream(p)
	seen := map[string]bool{}
	for i, c := range s.Schema {
		f := fmt.Sprintf("source.schema[%d]", i)
		if c.Name == "" {
			v.add(f+".name", "is required")
		} else if seen[strings.ToLower(c.Name)] {
			v.add(f+".name", "duplicate column %q", c.Name)
		}
		seen[strings.ToLower(c.Name)] = true
		if !supportedType(c.Type) {
			v.add(f+".type", "unsupported type %q (use one of %s or DECIMAL(p,s))", c.Type, strings.Join(SupportedTypes, ", "))
		}
	}

	if strings.TrimSpace(p.Transform.SQL) == "" {
		v.add("transform.sql", "is required: the SQL that turns the view \"input\" into the curated dataset")
	}
	switch p.Transform.Engine {
	case EngineDuckDB:
		if p.Transform.Connection != "" {
			v.add("transform.connection", "only applies to engine: snowflake")
		}
	case EngineSnowflake:
		if c := p.Transform.Connection; c != "" && !messages.ValidName(c) {
			v.add("transform.connection", "must name a connection (FUSION_CONN_<NAME>; lower case letters, digits, underscores; got %q)", c)
		}
	default:
		v.add("transform.engine", "must be duckdb or snowflake (got %q)", p.Transform.Engine)
	}

	if t := p.Training; t != nil {
		if t.Key == "" {
			v.add("training.key", "is required: the column the split hashes")
		}
		if t.Label == "" {
			v.add("training.label", "is required")
		}
		if len(t.Features) == 0 {
			v.add("training.features", "needs at least one column")
		}
		for i, f := range t.Features {
			if f == t.Label {
				v.add(fmt.Sprintf("training.features[%d]", i), "the label %q cannot be a feature", f)
			}
		}
		sp := t.Split
		for name, x := range map[string]float64{"train": sp.Train, "validation": sp.Validation, "test": sp.Test} {
			if x < 0 || x > 1 || math.IsNaN(x) {
				v.add("training.split."+name, "must be between 0 and 1 (got %v)", x)
			}
		}
		if sum := sp.Train + sp.Validation + sp.Test; math.Abs(sum-1) > 1e-9 {
			v.add("training.split", "fractions must sum to 1 (got %.6g)", sum)
		}
	}

	if inf := p.Inference; inf != nil {
		if !messages.ValidName(inf.Model) {
			v.add("inference.model", "must name a registered model (lower case letters, digits, underscores; got %q)", inf.Model)
		}
		if inf.Version == "" || messages.ValidKey(inf.Version) != nil || strings.Contains(inf.Version, "/") {
			v.add("inference.version", "is required (got %q)", inf.Version)
		}
		switch inf.InferenceInput() {
		case DatasetCurated:
		case "train", "validation", "test":
			if p.Training == nil {
				v.add("inference.input", "%q is a training split, but the pipeline has no training section", inf.Input)
			}
		default:
			v.add("inference.input", "must be curated, train, validation or test (got %q)", inf.Input)
		}
		if len(inf.Keys) == 0 {
			v.add("inference.keys", "is required when the pipeline has no training key")
		}
	}

	steps := map[string]bool{"load": len(p.Load) > 0}
	for _, st := range p.Steps() {
		steps[st.Name] = true
	}
	for _, name := range sortedKeys(p.Retries) {
		switch n := p.Retries[name]; {
		case !steps[name]:
			v.add("retries."+name, "is not a step of this pipeline (steps: %s)", strings.Join(sortedKeys(steps), ", "))
		case n < 0 || n > MaxRetries:
			v.add("retries."+name, "must be between 0 and %d (got %d)", MaxRetries, n)
		}
	}

	if p.Deadline != "" {
		if d, err := time.ParseDuration(p.Deadline); err != nil || d <= 0 {
			v.add("deadline", "must be a positive duration such as 30m, 2h or 1h30m (got %q)", p.Deadline)
		}
	}

	datasets := map[string]bool{}
	for i, l := range p.Load {
		f := fmt.Sprintf("load[%d]", i)
		switch l.Dataset {
		case DatasetCurated:
		case DatasetPredictions:
			if p.Inference == nil {
				v.add(f+".dataset", "predictions need an inference section")
			}
		default:
			v.add(f+".dataset", "must be curated or predictions (got %q)", l.Dataset)
		}
		if datasets[l.Dataset] {
			v.add(f+".dataset", "%q is loaded twice", l.Dataset)
		}
		datasets[l.Dataset] = true
		if !tableRE.MatchString(l.Table) {
			v.add(f+".table", "must be a table name, optionally schema-qualified (got %q)", l.Table)
		}
		switch l.Mode {
		case ModeMerge:
			if len(l.Keys) == 0 {
				v.add(f+".keys", "merge needs key columns")
			}
		case ModeAppend, ModeReplace:
		default:
			v.add(f+".mode", "must be append, merge or replace (got %q)", l.Mode)
		}
		for j, k := range l.Keys {
			if strings.TrimSpace(k) == "" {
				v.add(fmt.Sprintf("%s.keys[%d]", f, j), "is empty")
			}
		}
	}
	v.validatePreconditions(p) // preconditions.go
	v.validateActivities(p)    // activities.go
	return errors.Join(v.errs...)
}

// validateFiles checks a landed-files source: its prefix, format and delimiter.
func (v *validator) validateFiles(s Source) {
	if !s.Snapshot() && (!strings.HasSuffix(s.Prefix, "/") || messages.ValidKey(s.Prefix) != nil) { // snapshot.go checks the others
		v.add("source.prefix", "must be a key prefix under landing/ ending in / (got %q)", s.Prefix)
	}
	switch s.Format {
	case "csv":
		if len([]rune(s.Delimiter)) != 1 || s.Delimiter == "\"" || s.Delimiter == "\n" {
			v.add("source.delimiter", "must be a single character other than a quote or newline (got %q)", s.Delimiter)
		}
	case "jsonl":
		if s.Delimiter != "" {
			v.add("source.delimiter", "only applies to csv")
		}
	default:
		v.add("source.format", "must be csv or jsonl (got %q)", s.Format)
	}
}

type validator struct {
	file string
	root *yaml.Node
	errs []error
}

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.file, Line: lineOf(v.root, field), Field: field, Msg: fmt.Sprintf(format, args...)})
}

var segRE = regexp.MustCompile(`^([^\[]+)(?:\[(\d+)\])?$`)

// lineOf finds the line of a dotted field path (load[0].mode) in the YAML
// tree, falling back to the nearest enclosing node that exists.
func lineOf(root *yaml.Node, field string) int {
	n := root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	for _, seg := range strings.Split(field, ".") {
		m := segRE.FindStringSubmatch(seg)
		if m == nil || n == nil || n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == m[1] {
				line = n.Content[i].Line
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return line
		}
		n = next
		if m[2] != "" {
			var idx int
			fmt.Sscan(m[2], &idx)
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	if n.Kind == yaml.ScalarNode {
		return n.Line
	}
	return line
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
