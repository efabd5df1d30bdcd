// Package platform wires a tier together — lake, warehouse, catalog, run
// ledger, pipelines, engine and transport — from the typed configuration,
// and runs workers on it. It is the one place that knows which
// implementation backs each interface.
package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"go.opentelemetry.io/otel/metric"

	"github.com/fusiondata/fusion/services/runtime/awsenv"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/handled"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/lake/fslake"
	"github.com/fusiondata/fusion/services/runtime/lake/s3lake"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/metastore"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/telemetry"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"github.com/fusiondata/fusion/services/runtime/transport/ebus"
	"github.com/fusiondata/fusion/services/runtime/transport/inproc"
	"github.com/fusiondata/fusion/services/runtime/transport/sqsq"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// LakeBucket names the embedded lake in events, as a bucket would be named.
const LakeBucket = "fusion-lake"

// Platform is an opened tier.
type Platform struct {
	Config    config.Config
	Deps      worker.Deps
	Transport worker.Transport
	Ledger    ledger.Store // the home's metastore; DynamoDB on the aws tier (ledger.go)
	meta      *metastore.Store
	Pipelines *pipeline.Registry
	Lake      lake.Lake
	Log       *slog.Logger
	// Tracing makes every worker's spans, one TracerProvider per worker
	// (tracing.go). Tests may register span processors on it, or replace
	// it, before Run.
	Tracing *telemetry.Tracing
	// Meter receives the workers' metrics; nil means the global provider.
	// Open sets a Prometheus exporter when Config.MetricsAddr is set.
	Meter   metric.MeterProvider
	metrics metricsEndpoint // metrics.go
	http    boundAddr       // http.go: the workers' HTTP endpoints

	broker *inproc.Broker  // embedded tier
	local  *fslake.Lake    // embedded tier: the lake directory, watched for landed files
	aws    *awsenv.Clients // aws tier
	dedup  worker.Dedup    // aws tier: the handled marks every task shares
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
	QueueFile     = "queue.db" // the embedded tier's queues (inproc.Open)
	TmpDir        = "tmp"
)

// IsHome reports whether dir looks like a fusion home.
func IsHome(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, MetaFile))
	return err == nil
}

// Open opens the configured tier. The home (cfg.Home) always holds the
// engine's scratch space, the catalog and ledger and the DuckDB warehouse;
// on the embedded tier it also holds the lake. A new home is seeded with
// the sample pipelines and the lake with the sample models.
func Open(cfg config.Config, log *slog.Logger) (*Platform, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	p := &Platform{Config: cfg, Log: log}
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
	if err := p.openTracing(); err != nil {
		return err
	}
	if err := p.openMetrics(); err != nil {
		return err
	}
	var err error
	switch p.Config.Transport {
	case config.TransportAWS:
		err = p.openAWS()
	default:
		err = p.openEmbedded()
	}
	if err != nil {
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
	wh, err := OpenWarehouse(context.Background(), p.Config)
	if err != nil {
		return err
	}
	p.closer = append(p.closer, wh.Close)
	p.meta = store
	if p.Ledger, err = p.openLedger(store); err != nil {
		return err
	}
	if p.broker != nil {
		// Embedded dead letters live in the home, beyond the process.
		p.Transport.DeadLetters = store.DeadLetters()
	}
	p.Transport.Stats = p.queueStats()
	p.Deps = worker.Deps{Lake: p.Lake, Warehouse: warehouse.Traced(wh), Catalog: store, Pipelines: p.Pipelines, Engine: eng, Logger: p.Log, Now: time.Now,
		Connections: connections(p.Config), Dedup: store}
	if p.dedup != nil {
		// Every task of the aws tier has its own home: the marks they
		// share live in DynamoDB.
		p.Deps.Dedup = p.dedup
	}
	return nil
}

// openEmbedded: the lake is a directory, events travel in process.
func (p *Platform) openEmbedded() error {
	local, err := fslake.Open(filepath.Join(p.Config.Home, LakeDir), LakeBucket)
	if err != nil {
		return err
	}
	p.local, p.Lake = local, local
	// The queues are a file so that a killed `fusion run` loses no event:
	// the next one redelivers whatever was not acked.
	p.broker, err = inproc.Open(filepath.Join(p.Config.Home, QueueFile), inproc.Config{RedeliveryDelay: time.Second})
	if err != nil {
		return err
	}
	p.closer = append(p.closer, p.broker.Close)
	p.Transport = worker.Transport{
		Bus:         transport.NewRoutedBus(p.Rules, p.broker.Publisher()),
		Subscriber:  p.broker.Subscriber(),
		DeadLetters: p.broker.Publisher(),
	}
	return nil
}

// openAWS: the lake is an S3 bucket, events go through EventBridge to SQS.
func (p *Platform) openAWS() error {
	c := p.Config
	clients, err := awsenv.Load(context.Background(), c.S3PathStyle)
	if err != nil {
		return err
	}
	p.aws = &clients
	p.Lake = s3lake.New(clients.S3, c.LakeBucket)
	dedup, err := handled.NewDynamo(clients.DynamoDB, handled.Config{Table: c.DedupTable, Retention: c.DedupRetention})
	if err != nil {
		return err
	}
	p.dedup = dedup
	sub, err := sqsq.NewSubscriber(clients.Config, clients.SQS, sqsq.SubscriberConfig{
		Prefix: c.QueuePrefix, BatchSize: int32(c.SQSBatch), Visibility: c.SQSVisibility,
	}, watermill.NewSlogLoggerWithLevelMapping(p.Log, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug}))
	if err != nil {
		return err
	}
	p.closer = append(p.closer, sub.Close)
	p.Transport = worker.Transport{
		Bus:         ebus.New(ebus.Config{Bus: c.EventBus, TopicPrefix: c.TopicPrefix, Rules: p.Rules, Lake: p.Lake}, clients.EventBridge, clients.SNS),
		Subscriber:  sub,
		DeadLetters: sqsq.NewPublisher(clients.SQS, c.QueuePrefix, false),
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

// Broker is the embedded tier's queue broker (nil on the aws tier).
func (p *Platform) Broker() *inproc.Broker { return p.broker }

// LocalLake is the embedded tier's lake directory (nil on the aws tier).
func (p *Platform) LocalLake() *fslake.Lake { return p.local }

// AWS returns the aws tier's clients (nil on the embedded tier).
func (p *Platform) AWS() *awsenv.Clients { return p.aws }

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
		if !slices.Contains(names, s.Name) { // a Lambda pipeline's ingest starts two ways
			names = append(names, s.Name)
		}
	}
	return names
}
