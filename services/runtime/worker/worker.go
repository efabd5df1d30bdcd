// Package worker is the runtime every fusion worker shares: it consumes a
// worker's queue, decodes and routes each event to the worker's handler,
// retries transient failures with backoff, quarantines bad input, records
// every step in the run ledger, traces each invocation, and publishes what
// the handler produced. A worker itself is only its handlers.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/catalog"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// Handler runs one step of a run for one event.
//
// Rules: a handler must be idempotent — the same event may arrive several
// times, and again after a crash part-way — so it writes outputs to
// deterministic keys and overwrites them whole. It returns the events to
// publish instead of publishing them; the runtime publishes them only after
// the handler succeeded. Returning an *InputError (bad data) or a
// Permanent error fails the step at once; any other error is retried.
type Handler func(ctx context.Context, in *Input) (Output, error)

// Input is what a handler receives.
type Input struct {
	Event    messages.Envelope
	Detail   messages.Detail // the decoded detail, a pointer to its contract
	Run      messages.RunRef
	Pipeline *pipeline.Pipeline
	Step     pipeline.Step
	Attempt  int // 1 for the first try
}

// Output is what a handler produced.
type Output struct {
	RowsIn  int64
	RowsOut int64
	Bytes   int64
	// Events to publish. The runtime sets their trace context.
	Events []messages.Detail
}

// Worker is a named set of handlers, one per detail-type it consumes.
type Worker struct {
	Name     string
	Handlers map[string]Handler
	// Attach, when set, is called once by the process that runs the
	// worker, before its handlers start, to add HTTP routes and loops
	// beside them (host.go).
	Attach func(*Host) error
}

// Pipelines is how the runtime and handlers find pipeline definitions.
type Pipelines interface {
	Get(name string) (*pipeline.Pipeline, error)
	ForKey(key string) (*pipeline.Pipeline, error)
	All() []*pipeline.Pipeline
}

// Deps are the services handlers use, built once per process for the
// configured tier.
type Deps struct {
	Lake      lake.Lake
	Warehouse warehouse.Warehouse
	Catalog   catalog.Catalog
	Pipelines Pipelines
	Engine    *engine.Engine
	Logger    *slog.Logger
	Now       func() time.Time
	// Connections are the databases pipelines name, as URLs by name
	// (config.Config.Connections).
	Connections map[string]string
	// Dedup, when set, skips events a worker already handled (optional).
	Dedup Dedup
}

// Dedup remembers the events each worker handled to the end, so that an
// event delivered again — by an at-least-once transport, after a crash, or
// sent twice — is acknowledged without running its step again. The event
// is named by the fact its detail states (messages.EventID of the detail's
// IdentityKey), not by the envelope's id, which EventBridge assigns anew
// on every PutEvents.
//
// Rules: MarkHandled is called only after the step's results were
// published, so a crash in between reruns the step (handlers are
// idempotent and their results carry the same ids); a failed step is not
// marked, so a redriven dead letter runs again; marks survive restarts.
type Dedup interface {
	Handled(ctx context.Context, worker, eventID string) (bool, error)
	MarkHandled(ctx context.Context, worker, eventID, runID string) error
}

// WarehouseConnection names the warehouse's own connection when it is not
// DuckDB: a Snowflake transform without a connection of its own runs there.
const WarehouseConnection = "warehouse"

// Connection returns the URL of a named connection.
func (d Deps) Connection(name string) (string, error) {
	if u, ok := d.Connections[name]; ok && u != "" {
		return u, nil
	}
	return "", fmt.Errorf("connection %q is not configured: set FUSION_CONN_%s", name, strings.ToUpper(name))
}

// Factory builds a worker from its dependencies.
type Factory func(Deps) (*Worker, error)

var (
	registryMu sync.Mutex
	registry   = map[string]Factory{}
)

// Register makes a worker available by name; worker packages call it from
// init, so a program selects workers by importing them.
func Register(name string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("worker: " + name + " registered twice")
	}
	registry[name] = f
}

// Build constructs the named registered workers.
func Build(deps Deps, names ...string) ([]*Worker, error) {
	registryMu.Lock()
	defer registryMu.Unlock()
	var out []*Worker
	for _, n := range names {
		f, ok := registry[n]
		if !ok {
			return nil, fmt.Errorf("worker %q is not registered (have %v)", n, registeredLocked())
		}
		w, err := f(deps)
		if err != nil {
			return nil, fmt.Errorf("worker %s: %w", n, err)
		}
		out = append(out, w)
	}
	return out, nil
}

// Registered lists the registered worker names.
func Registered() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	return registeredLocked()
}

func registeredLocked() []string {
	var names []string
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
