// Package platform wires a tier together — lake, warehouse, catalog, run
// ledger, pipelines, engine and transport — from the typed configuration,
// and runs workers on it. It is the one place that knows which
// implementation backs each interface.
package platform

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/lake/fslake"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/metastore"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/telemetry"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"github.com/fusiondata/fusion/services/runtime/transport/inproc"
	"github.com/fusiondata/fusion/services/runtime/warehouse/duckwh"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// LakeBucket names the embedded lake in events, as a bucket would be named.
const LakeBucket = "fusion-lake"

// Platform is an opened tier.
type Platform struct {
	Config    config.Config
	Deps      worker.Deps
	Transport worker.Transport
	Ledger    ledger.Ledger
	Pipelines *pipeline.Registry
	Lake      *fslake.Lake
	Log       *slog.Logger
	// Tracer traces every handler invocation; nil means the global provider.
	Tracer trace.TracerProvider

	broker *inproc.Broker
	closer []func() error

	rulesMu  sync.Mutex
	rulesGen uint64
	rules    *routing.Table
}

// Layout of a home directory.
const (
	LakeDir       = "lake"
	WarehouseFile = "warehouse.duckdb"
	MetaFile      = "fusion.db"
	TmpDir        = "tmp"
)

// IsHome reports whether dir looks like a fusion home.
func IsHome(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, MetaFile))
	return err == nil
}

// Open opens the embedded tier in cfg.Home, creating and seeding the home
// (sample pipelines and models) if it is new.
func Open(cfg config.Config, log *slog.Logger) (*Platform, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	p := &Platform{Config: cfg, Log: log, Tracer: telemetry.NewTracerProvider()}
	if err := p.open(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Platform) open() error {
	home := p.Config.Home
	for _, d := range []string{home, filepath.Join(home, TmpDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("home %s: %w", home, err)
		}
	}
	var err error
	if p.Lake, err = fslake.Open(filepath.Join(home, LakeDir), LakeBucket); err != nil {
		return err
	}
	if err := seed(p.Config, p.Lake); err != nil {
		return fmt.Errorf("seed %s: %w", home, err)
	}
	store, err := metastore.Open(filepath.Join(home, MetaFile))
	if err != nil {
		return err
	}
	p.closer = append(p.closer, store.Close)
	eng, err := engine.Open(engine.Config{Threads: p.Config.EngineThreads, MemoryLimit: p.Config.EngineMemory, TempDir: filepath.Join(home, TmpDir)})
	if err != nil {
		return err
	}
	p.closer = append(p.closer, eng.Close)
	dir := p.Config.PipelinesDir()
	if p.Pipelines, err = pipeline.NewRegistry(os.DirFS(dir), dir); err != nil {
		return err
	}
	for _, problem := range p.Pipelines.Problems() {
		p.Log.Error("pipeline definition not loaded", "error", problem.Error())
	}
	wh := duckwh.New(filepath.Join(home, WarehouseFile), duckwh.Options{MemoryLimit: p.Config.EngineMemory})
	p.closer = append(p.closer, wh.Close)

	p.broker = inproc.NewBroker(inproc.Config{RedeliveryDelay: time.Second})
	p.Ledger = store
	p.Deps = worker.Deps{Lake: p.Lake, Warehouse: wh, Catalog: store, Pipelines: p.Pipelines, Engine: eng, Logger: p.Log, Now: time.Now}
	p.Transport = worker.Transport{
		Bus:         transport.NewRoutedBus(p.Rules, p.broker.Publisher()),
		Subscriber:  p.broker.Subscriber(),
		DeadLetters: p.broker.Publisher(),
	}
	return nil
}

// Rules returns the routing table of the current pipelines; it is rebuilt
// when the pipeline directory changes.
func (p *Platform) Rules() (*routing.Table, error) {
	gen := p.Pipelines.Generation()
	p.rulesMu.Lock()
	defer p.rulesMu.Unlock()
	if p.rules != nil && gen == p.rulesGen {
		return p.rules, nil
	}
	t, err := routing.NewTable(routing.ForPipelines(p.Pipelines.All()))
	if err != nil {
		return nil, err
	}
	p.rules, p.rulesGen = t, gen
	return t, nil
}

// Broker is the embedded tier's queue broker (for depth and inspection).
func (p *Platform) Broker() *inproc.Broker { return p.broker }

// Close releases everything Open acquired.
func (p *Platform) Close() error {
	var errs []error
	for i := len(p.closer) - 1; i >= 0; i-- {
		errs = append(errs, p.closer[i]())
	}
	p.closer = nil
	return errors.Join(errs...)
}

// Expected returns the step names a pipeline's runs go through.
func (p *Platform) Expected(name string) []string {
	pl, err := p.Pipelines.Get(name)
	if err != nil {
		return nil
	}
	var names []string
	for _, s := range pl.Steps() {
		names = append(names, s.Name)
	}
	return names
}
