package handler

import (
	"context"
	"math"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// MetricScoreDuration is the histogram of real-time scorings (seconds).
const MetricScoreDuration = "fusion.score.duration"

// Latency is GET /v1/score/{pipeline}/latency: the scorings of the last
// WindowS seconds (at most latencyKept of them), their count and their
// 50th and 99th percentiles.
type Latency struct {
	Count   int     `json:"count"`
	P50MS   float64 `json:"p50_ms"`
	P99MS   float64 `json:"p99_ms"`
	WindowS float64 `json:"window_s"`
}

// The recent window the latency endpoint reports on.
const (
	latencyWindow = 5 * time.Minute
	latencyKept   = 4096
)

// latencies keeps each pipeline's recent scoring durations in a ring, and
// records every one in the OpenTelemetry histogram.
type latencies struct {
	hist metric.Float64Histogram
	mu   sync.Mutex
	by   map[string]*ring
}

type ring struct {
	at   [latencyKept]time.Time
	took [latencyKept]time.Duration
	next int
	n    int
}

func newLatencies(mp metric.MeterProvider) (*latencies, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	h, err := mp.Meter("github.com/fusiondata/fusion/inference").Float64Histogram(MetricScoreDuration, metric.WithUnit("s"),
		metric.WithDescription("How long one real-time scoring took, request to answer."),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1))
	if err != nil {
		return nil, err
	}
	return &latencies{hist: h, by: map[string]*ring{}}, nil
}

func (l *latencies) record(ctx context.Context, pipeline string, took time.Duration) {
	l.hist.Record(ctx, took.Seconds(), metric.WithAttributes(attribute.String("pipeline", pipeline)))
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.by[pipeline]
	if r == nil {
		r = &ring{}
		l.by[pipeline] = r
	}
	r.at[r.next], r.took[r.next] = time.Now(), took
	r.next = (r.next + 1) % latencyKept
	r.n = min(r.n+1, latencyKept)
}

// report computes the window's percentiles (nearest rank).
func (l *latencies) report(pipeline string) Latency {
	l.mu.Lock()
	var took []time.Duration
	if r := l.by[pipeline]; r != nil {
		since := time.Now().Add(-latencyWindow)
		for i := 0; i < r.n; i++ {
			if r.at[i].After(since) {
				took = append(took, r.took[i])
			}
		}
	}
	l.mu.Unlock()
	out := Latency{Count: len(took), WindowS: latencyWindow.Seconds()}
	if len(took) == 0 {
		return out
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	out.P50MS = ms(Percentile(took, 50))
	out.P99MS = ms(Percentile(took, 99))
	return out
}

// Percentile is the nearest-rank percentile of sorted durations.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
