package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/services/runtime/transport"
)

// Config tunes the runtime.
type Config struct {
	// Concurrency is how many events of one queue are handled at once;
	// each is a separate subscription competing for the queue. Default 2.
	Concurrency int
	// Retry is the default retry policy of every step.
	Retry RetryPolicy
	// CloseTimeout bounds how long shutdown waits for running handlers.
	CloseTimeout time.Duration
	// Meter receives the runtime's metrics (metrics.go); nil means the
	// global provider.
	Meter metric.MeterProvider
	// Tracers, when set, gives each worker the TracerProvider its spans
	// come from — its own service.name when one process hosts several
	// workers (tracing.go). Workers it returns nil for, and every worker
	// when it is unset, use New's provider.
	Tracers func(worker string) trace.TracerProvider
	// Queues are more queues the queue gauges report: those the workers'
	// Host loops consume (the stream queue), which Run does not subscribe.
	Queues []string
}

func (c *Config) setDefaults() {
	if c.Concurrency == 0 {
		c.Concurrency = 2
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = 30 * time.Second
	}
	c.Retry.setDefaults()
}

// Validate reports bad settings.
func (c Config) Validate() error {
	var errs []error
	if c.Concurrency < 1 || c.Concurrency > 256 {
		errs = append(errs, fmt.Errorf("concurrency must be between 1 and 256 (got %d)", c.Concurrency))
	}
	if err := c.Retry.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Transport is what the runtime needs of a tier's messaging.
type Transport struct {
	Bus        transport.Bus      // where handlers' events and step events go
	Subscriber message.Subscriber // consumes worker queues by name
	// DeadLetters receives messages that failed for good, on topic
	// DeadLetterQueue(queue), with the reason in their metadata.
	DeadLetters message.Publisher
	// Stats, when set, reports the depth of the queues the runtime
	// consumes, for the queue gauges (optional).
	Stats transport.QueueStats
}

// DeadLetterQueue names a queue's dead-letter queue.
func DeadLetterQueue(queue string) string { return queue + "-dlq" }

// Consumer is a plain queue consumer that is not a pipeline step (the run
// ledger, for instance): no step events, no retries beyond redelivery.
type Consumer struct {
	Name   string
	Queue  string
	Handle func(msg *message.Message) error
}

// Runtime runs workers.
type Runtime struct {
	cfg    Config
	deps   Deps
	tr     Transport
	tracer trace.Tracer
	log    *slog.Logger
	busy   inFlight
	meters *metrics
}

// New builds a runtime. A nil TracerProvider means the global one.
func New(cfg Config, deps Deps, tr Transport, tp trace.TracerProvider) (*Runtime, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	m, err := newMetrics(cfg.Meter)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &Runtime{cfg: cfg, deps: deps, tr: tr, tracer: tp.Tracer("github.com/fusiondata/fusion/worker"), log: deps.Logger, meters: m}, nil
}

// Run consumes the workers' queues and the extra consumers' queues until
// ctx is cancelled, then waits for running handlers to finish.
func (r *Runtime) Run(ctx context.Context, workers []*Worker, consumers ...Consumer) error {
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: r.cfg.CloseTimeout}, watermill.NewSlogLoggerWithLevelMapping(r.log, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug}))
	if err != nil {
		return err
	}
	router.AddMiddleware(middleware.Recoverer)
	for _, w := range workers {
		w := w
		for i := 1; i <= r.cfg.Concurrency; i++ {
			router.AddConsumerHandler(fmt.Sprintf("%s-%d", w.Name, i), w.Name, r.tr.Subscriber, func(msg *message.Message) error {
				return r.process(w, msg)
			})
		}
	}
	var queues []string
	for _, w := range workers {
		queues = append(queues, w.Name)
	}
	for _, c := range consumers {
		router.AddConsumerHandler(c.Name, c.Queue, r.tr.Subscriber, r.meters.counting(c))
		queues = append(queues, c.Queue)
	}
	queues = append(queues, r.cfg.Queues...)
	if r.tr.Stats != nil {
		stop, err := r.meters.observeQueues(r.tr.Stats, queues, r.log)
		if err != nil {
			return err
		}
		defer stop()
	}
	return router.Run(ctx)
}
