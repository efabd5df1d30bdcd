package pipeline

import (
	"fmt"
	"strings"
	"time"

	"github.com/fusiondata/fusion/messages"
)

// Precondition guards a step: the step's first attempt waits until it
// holds, checking every RetryEvery; one that does not hold within Timeout
// fails the step for good, naming it (services/runtime/precondition
// evaluates them, services/runtime/worker waits). Exactly one kind is set.
// Keys, tables, predicates and commands may use {{run_id}}, {{pipeline}}
// and {{date}} (see Vars).
type Precondition struct {
	// Step is the step it guards: any name of Steps (ingest, transform,
	// load.curated, activity.export...).
	Step string `yaml:"step"`

	ObjectExists   string     `yaml:"object_exists"`    // a lake key exists
	PrefixNotEmpty string     `yaml:"prefix_not_empty"` // some object's key starts with this
	TableExists    string     `yaml:"table_exists"`     // a warehouse table or view exists
	TableHasRows   *TableRows `yaml:"table_has_rows"`   // a warehouse table has a row (matching where)
	Shell          string     `yaml:"shell"`            // sh -c exits 0

	// Timeout is how long the step waits at most (a Go duration; 5m by
	// default, at most MaxWait); RetryEvery how often it checks (10s by
	// default, at least 1s).
	Timeout    string `yaml:"timeout"`
	RetryEvery string `yaml:"retry_every"`
}

// TableRows asks for a row of a table, optionally matching a SQL predicate.
type TableRows struct {
	Table string `yaml:"table"`
	Where string `yaml:"where"` // e.g. order_date = current_date; all rows when empty
}

// Precondition kinds, as the pipeline file names them.
const (
	CondObjectExists   = "object_exists"
	CondPrefixNotEmpty = "prefix_not_empty"
	CondTableExists    = "table_exists"
	CondTableHasRows   = "table_has_rows"
	CondShell          = "shell"
)

// Precondition defaults and bounds.
const (
	DefaultPreconditionTimeout = 5 * time.Minute
	DefaultPreconditionEvery   = 10 * time.Second
	MinPreconditionEvery       = time.Second
	// MaxWait bounds how long a step may wait or run: on the aws tier the
	// step's message stays invisible while it does (its visibility is
	// renewed), and SQS refuses to extend a message's visibility beyond
	// 12 hours after it was received.
	MaxWait = 11 * time.Hour
)

// Kind is the precondition's kind ("" when none or several are set).
func (c Precondition) Kind() string {
	kinds := c.kinds()
	if len(kinds) != 1 {
		return ""
	}
	return kinds[0]
}

func (c Precondition) kinds() []string {
	var out []string
	for _, k := range []struct {
		name string
		set  bool
	}{
		{CondObjectExists, c.ObjectExists != ""}, {CondPrefixNotEmpty, c.PrefixNotEmpty != ""},
		{CondTableExists, c.TableExists != ""}, {CondTableHasRows, c.TableHasRows != nil}, {CondShell, c.Shell != ""},
	} {
		if k.set {
			out = append(out, k.name)
		}
	}
	return out
}

// Subject is what the precondition is about: the key, prefix, table
// (with its predicate) or command, as written.
func (c Precondition) Subject() string {
	switch c.Kind() {
	case CondObjectExists:
		return c.ObjectExists
	case CondPrefixNotEmpty:
		return c.PrefixNotEmpty
	case CondTableExists:
		return c.TableExists
	case CondTableHasRows:
		if c.TableHasRows.Where != "" {
			return c.TableHasRows.Table + " where " + c.TableHasRows.Where
		}
		return c.TableHasRows.Table
	case CondShell:
		return c.Shell
	}
	return ""
}

// Expand returns the precondition with its placeholders substituted.
func (c Precondition) Expand(v Vars) Precondition {
	c.ObjectExists, c.PrefixNotEmpty = v.Expand(c.ObjectExists), v.Expand(c.PrefixNotEmpty)
	c.TableExists, c.Shell = v.Expand(c.TableExists), v.Expand(c.Shell)
	if c.TableHasRows != nil {
		c.TableHasRows = &TableRows{Table: v.Expand(c.TableHasRows.Table), Where: v.Expand(c.TableHasRows.Where)}
	}
	return c
}

// TimeoutDuration is how long the step waits for it.
func (c Precondition) TimeoutDuration() time.Duration {
	return durationOr(c.Timeout, DefaultPreconditionTimeout)
}

// Every is how often it is checked.
func (c Precondition) Every() time.Duration {
	return durationOr(c.RetryEvery, DefaultPreconditionEvery)
}

func durationOr(s string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d
	}
	return def
}

// PreconditionsFor returns the preconditions guarding a step, in file order.
func (p *Pipeline) PreconditionsFor(step string) []Precondition {
	var out []Precondition
	for _, c := range p.Preconditions {
		if c.Step == step {
			out = append(out, c)
		}
	}
	return out
}

// validatePreconditions checks each precondition: a step of the pipeline,
// exactly one kind, a usable key, table or command, sane durations.
func (v *validator) validatePreconditions(p *Pipeline) {
	steps := map[string]bool{}
	var names []string
	for _, s := range p.Steps() {
		steps[s.Name] = true
		names = append(names, s.Name)
	}
	for i, c := range p.Preconditions {
		f := fmt.Sprintf("preconditions[%d]", i)
		if !steps[c.Step] {
			v.add(f+".step", "%q is not a step of this pipeline (steps: %s)", c.Step, strings.Join(names, ", "))
		}
		switch kinds := c.kinds(); len(kinds) {
		case 0:
			v.add(f, "needs one of object_exists, prefix_not_empty, table_exists, table_has_rows or shell")
		case 1:
		default:
			v.add(f+"."+kinds[1], "a precondition checks one thing (it also has %s): write one entry per check", kinds[0])
		}
		for _, s := range []struct{ field, val string }{
			{CondObjectExists, c.ObjectExists}, {CondPrefixNotEmpty, c.PrefixNotEmpty}, {CondShell, c.Shell}, {CondTableExists, c.TableExists},
		} {
			if err := checkTemplate(s.val); err != nil {
				v.add(f+"."+s.field, "%v", err)
			}
		}
		if c.ObjectExists != "" {
			if k := sample(c.ObjectExists); messages.ValidKey(k) != nil || strings.HasSuffix(k, "/") {
				v.add(f+".object_exists", "must be an object key, such as landing/sales/_SUCCESS (got %q)", c.ObjectExists)
			}
		}
		if c.PrefixNotEmpty != "" && messages.ValidKey(sample(c.PrefixNotEmpty)) != nil {
			v.add(f+".prefix_not_empty", "must be a key prefix, such as incoming/sales/ (got %q)", c.PrefixNotEmpty)
		}
		if c.TableExists != "" && !tableRE.MatchString(sample(c.TableExists)) {
			v.add(f+".table_exists", "must be a table name, optionally schema-qualified (got %q)", c.TableExists)
		}
		if r := c.TableHasRows; r != nil {
			if !tableRE.MatchString(sample(r.Table)) {
				v.add(f+".table_has_rows.table", "must be a table name, optionally schema-qualified (got %q)", r.Table)
			}
			if err := checkTemplate(r.Table + r.Where); err != nil {
				v.add(f+".table_has_rows", "%v", err)
			}
			if strings.Contains(r.Where, ";") {
				v.add(f+".table_has_rows.where", "is a predicate, not statements: no ';'")
			}
		}
		if c.Shell != "" && strings.TrimSpace(c.Shell) == "" {
			v.add(f+".shell", "is empty")
		}
		timeout, every := DefaultPreconditionTimeout, DefaultPreconditionEvery
		if c.Timeout != "" {
			d, err := time.ParseDuration(c.Timeout)
			switch {
			case err != nil || d <= 0:
				v.add(f+".timeout", "must be a positive duration such as 30s, 10m or 2h (got %q)", c.Timeout)
			case d > MaxWait:
				v.add(f+".timeout", "must be at most %v: a waiting step holds its message, whose visibility SQS extends for 12h at most (got %v)", MaxWait, d)
			default:
				timeout = d
			}
		}
		if c.RetryEvery != "" {
			d, err := time.ParseDuration(c.RetryEvery)
			switch {
			case err != nil || d <= 0:
				v.add(f+".retry_every", "must be a positive duration such as 10s or 1m (got %q)", c.RetryEvery)
			case d < MinPreconditionEvery:
				v.add(f+".retry_every", "must be at least %v (got %v)", MinPreconditionEvery, d)
			default:
				every = d
			}
		}
		if every > timeout {
			v.add(f+".retry_every", "%v is longer than the timeout %v: the precondition would be checked once", every, timeout)
		}
	}
}
