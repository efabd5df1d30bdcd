// Package config is fusion's typed configuration. main reads it from the
// environment once (FromEnv) and flags may override fields; no other
// package reads the environment.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config configures a fusion process.
type Config struct {
	// Home holds everything of the embedded tier: lake, warehouse, catalog,
	// ledger, pipelines. FUSION_HOME, default ./.fusion.
	Home string
	// HomeFromEnv records that FUSION_HOME chose Home.
	HomeFromEnv bool
	// Pipelines is the directory of pipeline definitions. FUSION_PIPELINES,
	// default <home>/pipelines.
	Pipelines string
	// Transport selects the tier's messaging: embedded (in process).
	// FUSION_TRANSPORT.
	Transport string
	// Concurrency is how many events each worker handles at once.
	// FUSION_CONCURRENCY, default 2.
	Concurrency int
	// Retries is how often a step retries a transient failure (0-10).
	// FUSION_RETRIES, default 3.
	Retries int
	// EngineThreads and EngineMemory bound the DuckDB engine that runs
	// every step's SQL: FUSION_ENGINE_THREADS (default: one per CPU),
	// FUSION_ENGINE_MEMORY (default 256MB; it spills to <home>/tmp beyond
	// it), also the limit of the in-memory DuckDB with which a Postgres or
	// Snowflake warehouse checks a load's files.
	EngineThreads int
	EngineMemory  string
	// WarehouseMemory bounds each of the DuckDB warehouse's DuckDBs: the
	// file's, for loads and queries, and the in-memory one that checks a
	// merge's keys. FUSION_WAREHOUSE_MEMORY, default 64MB: a load streams
	// rows into storage and the check spills, so more memory would mostly
	// cache pages.
	WarehouseMemory string
	// LandingPoll is how often the embedded lake looks for landed files.
	// FUSION_LANDING_POLL, default 250ms.
	LandingPoll time.Duration
	// LogLevel is debug, info, warn or error. FUSION_LOG_LEVEL, default info.
	LogLevel slog.Level

	// Warehouse is where the loader loads: duckdb (a file in the home, the
	// default), a postgres:// URL (Postgres or Redshift) or a
	// snowflake://user:password@account/database/schema?warehouse=... URL.
	// FUSION_WAREHOUSE.
	Warehouse string
	// Connections are the databases pipelines name (a Postgres source, a
	// Snowflake transform), in the URL forms of Warehouse:
	// FUSION_CONN_<NAME>=URL, the name lower-cased. Credentials stay in
	// the environment, never in pipeline files.
	Connections map[string]string

	// The aws tier (FUSION_TRANSPORT=aws). AWS credentials, region and
	// endpoints come from the SDK's default chain (AWS_REGION,
	// AWS_ENDPOINT_URL, ...).
	//
	// LakeBucket is the lake's S3 bucket (FUSION_LAKE_BUCKET, required).
	LakeBucket string
	// EventBus is the EventBridge bus (FUSION_EVENT_BUS, default fusion).
	EventBus string
	// QueuePrefix and TopicPrefix name the SQS queues and SNS topics:
	// fusion-ingest, fusion-failures (FUSION_QUEUE_PREFIX, FUSION_TOPIC_PREFIX).
	QueuePrefix string
	TopicPrefix string
	// S3PathStyle addresses buckets in the URL path, as emulators need
	// (FUSION_S3_PATH_STYLE; on by default when AWS_ENDPOINT_URL is set).
	S3PathStyle bool
	// SQSBatch is how many messages one receive asks for (FUSION_SQS_BATCH,
	// 1-10, default 10); SQSVisibility how long a received message stays
	// hidden, renewed while it is handled (FUSION_SQS_VISIBILITY, default 60s).
	SQSBatch      int
	SQSVisibility time.Duration
	// DedupTable is the DynamoDB table where workers remember the events
	// they handled, shared by every task (FUSION_DEDUP_TABLE, default
	// <queue prefix>handled: fusion-handled). DedupRetention is how long a
	// mark lasts (FUSION_DEDUP_RETENTION, default 336h = 14 days, SQS's
	// longest retention).
	DedupTable     string
	DedupRetention time.Duration
	// LedgerTable is the DynamoDB table of the run ledger on the aws tier,
	// shared by the ledger process and `fusion runs` (FUSION_LEDGER_TABLE,
	// default <queue prefix>ledger: fusion-ledger).
	LedgerTable string

	// DeadlineCheck is how often the ledger process looks for runs open
	// past their pipeline's deadline (FUSION_DEADLINE_CHECK, default 30s).
	DeadlineCheck time.Duration

	// MetricsAddr is where the processes that run workers serve their
	// metrics (GET /metrics, Prometheus's format): host:port, port 0
	// picking a free one. FUSION_METRICS_ADDR, or OTEL_METRICS_EXPORTER=
	// prometheus with OTEL_EXPORTER_PROMETHEUS_HOST (localhost) and
	// OTEL_EXPORTER_PROMETHEUS_PORT (9464); empty, the default, serves none.
	MetricsAddr string
	// MetricsQueuePoll is how often, at most, the aws tier reads queue
	// depths from SQS for the metrics, however often they are scraped
	// (FUSION_METRICS_QUEUE_POLL, default 30s). The embedded tier reads
	// its own on every scrape.
	MetricsQueuePoll time.Duration
	// HTTPAddr is where the processes that run workers serve the workers'
	// HTTP endpoints (POST /v1/streams/{pipeline}/records on ingest,
	// POST /v1/score/{pipeline} on inference) and /healthz: host:port,
	// port 0 picking a free one. FUSION_HTTP_ADDR; empty, the default,
	// serves none (http.go).
	HTTPAddr string

	// Tracing says whether and how spans are exported (tracing.go): the
	// standard OTEL_EXPORTER_OTLP_* variables, OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES.
	Tracing Tracing
}

// Transports.
const (
	TransportEmbedded = "embedded"
	TransportAWS      = "aws"
)

// FromEnv reads the configuration from environment variables (os.Environ()
// in main) and applies defaults.
func FromEnv(environ []string) (Config, error) {
	var c Config
	var errs []error
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	get := func(k string) string { return strings.TrimSpace(vars[k]) }
	atoi := func(k string) int {
		v := get(k)
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not a number", k, v))
		}
		return n
	}
	c.Home = get("FUSION_HOME")
	c.HomeFromEnv = c.Home != ""
	c.Pipelines = get("FUSION_PIPELINES")
	c.Transport = get("FUSION_TRANSPORT")
	c.Concurrency = atoi("FUSION_CONCURRENCY")
	c.EngineThreads = atoi("FUSION_ENGINE_THREADS")
	c.EngineMemory = get("FUSION_ENGINE_MEMORY")
	c.WarehouseMemory = get("FUSION_WAREHOUSE_MEMORY")
	c.Retries = -1
	if v := get("FUSION_RETRIES"); v != "" {
		c.Retries = atoi("FUSION_RETRIES")
	}
	if v := get("FUSION_LANDING_POLL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("FUSION_LANDING_POLL=%q is not a duration", v))
		}
		c.LandingPoll = d
	}
	c.Warehouse = get("FUSION_WAREHOUSE")
	c.Connections = map[string]string{}
	for k, v := range vars {
		if name, ok := strings.CutPrefix(k, "FUSION_CONN_"); ok && name != "" {
			c.Connections[strings.ToLower(name)] = strings.TrimSpace(v)
		}
	}
	c.LakeBucket = get("FUSION_LAKE_BUCKET")
	c.EventBus = get("FUSION_EVENT_BUS")
	c.QueuePrefix = get("FUSION_QUEUE_PREFIX")
	c.TopicPrefix = get("FUSION_TOPIC_PREFIX")
	c.SQSBatch = atoi("FUSION_SQS_BATCH")
	c.S3PathStyle = get("AWS_ENDPOINT_URL") != "" || get("AWS_ENDPOINT_URL_S3") != ""
	if v := get("FUSION_S3_PATH_STYLE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("FUSION_S3_PATH_STYLE=%q is not true or false", v))
		}
		c.S3PathStyle = b
	}
	if v := get("FUSION_SQS_VISIBILITY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("FUSION_SQS_VISIBILITY=%q is not a duration", v))
		}
		c.SQSVisibility = d
	}
	c.DedupTable = get("FUSION_DEDUP_TABLE")
	if v := get("FUSION_DEDUP_RETENTION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("FUSION_DEDUP_RETENTION=%q is not a duration", v))
		}
		c.DedupRetention = d
	}
	c.LedgerTable = get("FUSION_LEDGER_TABLE")
	if v := get("FUSION_DEADLINE_CHECK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("FUSION_DEADLINE_CHECK=%q is not a duration", v))
		}
		c.DeadlineCheck = d
	}
	if v := get("FUSION_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("FUSION_LOG_LEVEL=%q: use debug, info, warn or error", v))
		}
	}
	errs = append(errs, c.metricsFromEnv(get)...)
	errs = append(errs, c.httpFromEnv(get)...)
	errs = append(errs, c.tracingFromEnv(get)...)
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// SetDefaults fills unset fields; call it again after overriding Home.
func (c *Config) SetDefaults() {
	if c.Home == "" {
		c.Home = ".fusion"
	}
	if c.Transport == "" {
		c.Transport = TransportEmbedded
	}
	if c.Concurrency == 0 {
		c.Concurrency = 2
	}
	if c.Retries < 0 {
		c.Retries = 3
	}
	if c.EngineMemory == "" {
		c.EngineMemory = "256MB"
	}
	if c.WarehouseMemory == "" {
		c.WarehouseMemory = "64MB"
	}
	if c.LandingPoll == 0 {
		c.LandingPoll = 250 * time.Millisecond
	}
	if c.EventBus == "" {
		c.EventBus = "fusion"
	}
	if c.QueuePrefix == "" {
		c.QueuePrefix = "fusion-"
	}
	if c.TopicPrefix == "" {
		c.TopicPrefix = "fusion-"
	}
	if c.SQSBatch == 0 {
		c.SQSBatch = 10
	}
	if c.SQSVisibility == 0 {
		c.SQSVisibility = 60 * time.Second
	}
	if c.DedupTable == "" {
		c.DedupTable = c.QueuePrefix + "handled"
	}
	if c.DedupRetention == 0 {
		c.DedupRetention = 14 * 24 * time.Hour
	}
	if c.LedgerTable == "" {
		c.LedgerTable = c.QueuePrefix + "ledger"
	}
	if c.DeadlineCheck == 0 {
		c.DeadlineCheck = 30 * time.Second
	}
	c.setMetricsDefaults()
	c.setTracingDefaults()
}

// PipelinesDir is the pipelines directory, defaulting to <home>/pipelines.
func (c Config) PipelinesDir() string {
	if c.Pipelines != "" {
		return c.Pipelines
	}
	return filepath.Join(c.Home, "pipelines")
}

// Validate reports every bad setting at once.
func (c Config) Validate() error {
	var errs []error
	switch c.Transport {
	case TransportEmbedded:
	case TransportAWS:
		if c.LakeBucket == "" {
			errs = append(errs, fmt.Errorf("FUSION_LAKE_BUCKET is required with FUSION_TRANSPORT=aws"))
		}
		if c.SQSBatch < 1 || c.SQSBatch > 10 {
			errs = append(errs, fmt.Errorf("FUSION_SQS_BATCH must be 1-10 (got %d)", c.SQSBatch))
		}
		if c.SQSVisibility < 3*time.Second {
			errs = append(errs, fmt.Errorf("FUSION_SQS_VISIBILITY must be at least 3s (got %v)", c.SQSVisibility))
		}
		if c.DedupRetention < time.Minute {
			errs = append(errs, fmt.Errorf("FUSION_DEDUP_RETENTION must be at least 1m (got %v)", c.DedupRetention))
		}
	default:
		errs = append(errs, fmt.Errorf("FUSION_TRANSPORT=%q: use %q or %q", c.Transport, TransportEmbedded, TransportAWS))
	}
	if err := checkURL("FUSION_WAREHOUSE", c.Warehouse, true); err != nil {
		errs = append(errs, err)
	}
	for name, u := range c.Connections {
		if err := checkURL("FUSION_CONN_"+strings.ToUpper(name), u, false); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Concurrency < 1 || c.Concurrency > 256 {
		errs = append(errs, fmt.Errorf("FUSION_CONCURRENCY must be 1-256 (got %d)", c.Concurrency))
	}
	if c.Retries < 0 || c.Retries > 10 {
		errs = append(errs, fmt.Errorf("FUSION_RETRIES must be 0-10 (got %d)", c.Retries))
	}
	if c.EngineThreads < 0 {
		errs = append(errs, fmt.Errorf("FUSION_ENGINE_THREADS must not be negative"))
	}
	if c.LandingPoll < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("FUSION_LANDING_POLL must be at least 10ms (got %v)", c.LandingPoll))
	}
	if c.DeadlineCheck < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("FUSION_DEADLINE_CHECK must be at least 10ms (got %v)", c.DeadlineCheck))
	}
	errs = append(errs, c.validateMetrics()...)
	errs = append(errs, c.validateHTTP()...)
	errs = append(errs, c.validateTracing()...)
	return errors.Join(errs...)
}

// Database URL schemes.
const (
	SchemeDuckDB    = "duckdb"
	SchemePostgres  = "postgres"
	SchemeSnowflake = "snowflake"
)

// SchemeOf returns the scheme of a database URL (duckdb for "") and the
// rest: the DSN its driver takes (a Snowflake DSN has no scheme).
func SchemeOf(url string) (scheme, dsn string) {
	switch {
	case url == "" || url == SchemeDuckDB:
		return SchemeDuckDB, ""
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return SchemePostgres, url
	case strings.HasPrefix(url, "snowflake://"):
		return SchemeSnowflake, strings.TrimPrefix(url, "snowflake://")
	}
	scheme, _, _ = strings.Cut(url, ":")
	return scheme, url
}

func checkURL(name, url string, duckdbOK bool) error {
	scheme, _ := SchemeOf(url)
	switch {
	case scheme == SchemePostgres || scheme == SchemeSnowflake:
		return nil
	case scheme == SchemeDuckDB && duckdbOK:
		return nil
	}
	return fmt.Errorf("%s: use a postgres:// or snowflake:// URL (got scheme %q)", name, scheme)
}
