package telemetry

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

type runKey struct{}

// WithRun records in ctx the run a span about to start belongs to. A root
// span started with it — the first step of a run, which no event traces
// yet — gets the trace id RunTraceID(run) instead of a random one, so every
// attempt at that step (a redelivery after a crash, another task) lands in
// the run's one trace.
func WithRun(ctx context.Context, runID string) context.Context {
	return context.WithValue(ctx, runKey{}, runID)
}

// RunTraceID is the trace id of a run: the first 16 bytes of
// SHA-256("fusion run " + run id). It is as uniform as a random id, so
// ratio samplers keep working, and deterministic, so a run keeps its trace.
func RunTraceID(runID string) trace.TraceID {
	sum := sha256.Sum256([]byte("fusion run " + runID))
	var id trace.TraceID
	copy(id[:], sum[:16])
	return id
}

// runIDs is the SDK's id generator with run-derived trace ids for roots;
// other ids are random (math/rand/v2, safe for concurrent use).
type runIDs struct{}

var _ sdktrace.IDGenerator = runIDs{}

func (runIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if run, _ := ctx.Value(runKey{}).(string); run != "" {
		return RunTraceID(run), newSpanID()
	}
	var tid trace.TraceID
	for !tid.IsValid() {
		binary.BigEndian.PutUint64(tid[:8], rand.Uint64())
		binary.BigEndian.PutUint64(tid[8:], rand.Uint64())
	}
	return tid, newSpanID()
}

func (runIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID { return newSpanID() }

func newSpanID() trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.BigEndian.PutUint64(sid[:], rand.Uint64())
	}
	return sid
}
