package worker_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"github.com/fusiondata/fusion/services/runtime/transport/inproc"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// TestMetricsCountWhatHappened runs three deliveries through a worker — an
// event that fails once and then succeeds, an event whose step fails for
// good, and a body that is not an event — and reads the runtime's
// instruments with the SDK's ManualReader.
func TestMetricsCountWhatHappened(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })

	reg, err := pipeline.NewRegistry(fstest.MapFS{"p.yaml": {Data: []byte(def)}}, "pipelines")
	if err != nil {
		t.Fatal(err)
	}
	table, err := routing.NewTable(routing.ForPipelines(reg.All()))
	if err != nil {
		t.Fatal(err)
	}
	broker := inproc.NewBroker(inproc.Config{})
	t.Cleanup(func() { broker.Close() })
	bus := transport.NewRoutedBus(func() (*routing.Table, error) { return table, nil }, broker.Publisher())
	rt, err := worker.New(worker.Config{Concurrency: 1, Meter: mp, Retry: worker.RetryPolicy{MaxRetries: 3, Initial: time.Millisecond, Max: 2 * time.Millisecond}},
		worker.Deps{Pipelines: reg},
		worker.Transport{Bus: bus, Subscriber: broker.Subscriber(), DeadLetters: broker.Publisher(), Stats: broker}, nil)
	if err != nil {
		t.Fatal(err)
	}

	const badRun = "20261121-151600-bad000"
	var calls atomic.Int32
	w := &worker.Worker{Name: "transform", Handlers: map[string]worker.Handler{
		messages.TypeDatasetIngested: func(_ context.Context, in *worker.Input) (worker.Output, error) {
			if in.Run.RunID == badRun {
				return worker.Output{}, &worker.InputError{File: "landing/p/bad.csv", Line: 2, Err: errors.New("row has 1 fields, the header has 2")}
			}
			if calls.Add(1) == 1 {
				time.Sleep(5 * time.Millisecond)
				return worker.Output{}, errors.New("warehouse unavailable")
			}
			return worker.Output{RowsIn: 3, RowsOut: 2, Events: []messages.Detail{transformed()}}, nil
		},
	}}
	ledgerSeen := func(*message.Message) error { return nil }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- rt.Run(ctx, []*worker.Worker{w}, worker.Consumer{Name: "ledger", Queue: routing.LedgerQueue, Handle: ledgerSeen})
	}()
	t.Cleanup(func() { cancel(); <-done })

	good := ingested(t)
	bad, err := messages.New(&messages.DatasetIngested{RunRef: messages.RunRef{RunID: badRun, Pipeline: "p"},
		Raw: messages.ObjectRef{Key: "raw/p/bad.csv"}, Dataset: messages.DatasetRef{Name: "p.raw", Objects: []string{"raw/p/bad.parquet"}, Rows: 1}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Publish(context.Background(), good, bad); err != nil {
		t.Fatal(err)
	}
	if err := broker.Publisher().Publish("transform", message.NewMessage("junk", []byte("not json at all"))); err != nil {
		t.Fatal(err)
	}

	step := map[string]string{worker.AttrWorker: "transform", worker.AttrStep: "transform", worker.AttrPipeline: "p"}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	transformQueue := map[string]string{worker.AttrWorker: "transform", worker.AttrQueue: "transform"}
	// Started x3 (two attempts of the good event, one of the bad), the
	// good event's succeeded and the bad one's failed: five step events.
	ledgerQueue := map[string]string{worker.AttrWorker: "ledger", worker.AttrQueue: routing.LedgerQueue}

	var rm metricdata.ResourceMetrics
	var problems []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		problems = nil
		check := func(what string, got, want int64) {
			if got != want {
				problems = append(problems, fmt.Sprintf("%s = %d, want %d", what, got, want))
			}
		}
		check("consumed by transform", sum(rm, worker.MetricConsumed, transformQueue), 3)
		check("consumed by the ledger", sum(rm, worker.MetricConsumed, ledgerQueue), 5)
		check("records in", sum(rm, worker.MetricRecords, with(step, worker.AttrDirection, "in")), 3)
		check("records out", sum(rm, worker.MetricRecords, with(step, worker.AttrDirection, "out")), 2)
		check("retries", sum(rm, worker.MetricRetries, step), 1)
		check("successful invocations", histCount(rm, worker.MetricDuration, with(step, worker.AttrOutcome, worker.OutcomeSuccess)), 1)
		check("retried invocations", histCount(rm, worker.MetricDuration, with(step, worker.AttrOutcome, worker.OutcomeRetry)), 1)
		check("failed invocations", histCount(rm, worker.MetricDuration, with(step, worker.AttrOutcome, worker.OutcomeFailure)), 1)
		check("dead-lettered step", sum(rm, worker.MetricDeadLettered, with(step, worker.AttrQueue, "transform")), 1)
		check("dead-lettered in all", sum(rm, worker.MetricDeadLettered, map[string]string{worker.AttrQueue: "transform"}), 2)
		check("started events sent", sum(rm, worker.MetricSent, with(step, worker.AttrEventType, messages.TypeStepStarted, worker.AttrOutcome, worker.OutcomeSuccess)), 3)
		check("results sent", sum(rm, worker.MetricSent, with(step, worker.AttrEventType, messages.TypeDatasetTransformed)), 1)
		check("succeeded events sent", sum(rm, worker.MetricSent, with(step, worker.AttrEventType, messages.TypeStepSucceeded)), 1)
		check("failed events sent", sum(rm, worker.MetricSent, with(step, worker.AttrEventType, messages.TypeStepFailed)), 1)
		check("events aged at consume", histCount(rm, worker.MetricLag, transformQueue), 2)
		check("transform dead-letter queue depth", gauge(rm, worker.MetricDLQDepth, map[string]string{worker.AttrQueue: "transform"}), 2)
		check("transform queue depth", gauge(rm, worker.MetricDepth, map[string]string{worker.AttrQueue: "transform"}), 0)
		check("ledger queue depth", gauge(rm, worker.MetricDepth, map[string]string{worker.AttrQueue: routing.LedgerQueue}), 0)
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range problems {
		t.Error(p)
	}
	// The failed invocation slept 5ms: durations are measured, in seconds.
	if s := histSum(rm, worker.MetricDuration, with(step, worker.AttrOutcome, worker.OutcomeRetry)); s < 0.005 || s > 5 {
		t.Errorf("retried invocation took %gs", s)
	}
}

// matches reports whether a point's attributes include want.
func matches(set attribute.Set, want map[string]string) bool {
	for k, v := range want {
		if got, ok := set.Value(attribute.Key(k)); !ok || got.AsString() != v {
			return false
		}
	}
	return true
}

func find(rm metricdata.ResourceMetrics, name string) metricdata.Aggregation {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m.Data
			}
		}
	}
	return nil
}

// sum adds a counter's points whose attributes include want.
func sum(rm metricdata.ResourceMetrics, name string, want map[string]string) int64 {
	var n int64
	if s, ok := find(rm, name).(metricdata.Sum[int64]); ok {
		for _, dp := range s.DataPoints {
			if matches(dp.Attributes, want) {
				n += dp.Value
			}
		}
	}
	return n
}

func gauge(rm metricdata.ResourceMetrics, name string, want map[string]string) int64 {
	var n int64 = -1
	if g, ok := find(rm, name).(metricdata.Gauge[int64]); ok {
		for _, dp := range g.DataPoints {
			if matches(dp.Attributes, want) {
				n = dp.Value
			}
		}
	}
	return n
}

func histCount(rm metricdata.ResourceMetrics, name string, want map[string]string) int64 {
	var n int64
	if h, ok := find(rm, name).(metricdata.Histogram[float64]); ok {
		for _, dp := range h.DataPoints {
			if matches(dp.Attributes, want) {
				n += int64(dp.Count)
			}
		}
	}
	return n
}

func histSum(rm metricdata.ResourceMetrics, name string, want map[string]string) float64 {
	var s float64
	if h, ok := find(rm, name).(metricdata.Histogram[float64]); ok {
		for _, dp := range h.DataPoints {
			if matches(dp.Attributes, want) {
				s += dp.Sum
			}
		}
	}
	return s
}
