package worker

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/transport"
)

// Host is what the process running a worker offers it beyond the events
// of its queue: the bus, batch receives of another queue, the lake's
// object notifications, HTTP routes and loops that run beside the
// handlers. A worker's Attach takes what it needs (see Worker.Attach).
//
// Rules: Attach only registers (Handle, Go); the routes are served on the
// process's one HTTP server (platform, FUSION_HTTP_ADDR) and the loops run
// from when the workers start until their context ends — a loop returns
// then, after giving back whatever it holds, and the process waits for it.
type Host struct {
	// Bus publishes events; like handlers' results, they are accepted
	// once Publish returns nil.
	Bus transport.Bus
	// Batches receives many messages of a queue at once and holds them.
	Batches transport.BatchReceiver
	// DeadLetters takes messages given up on, on DeadLetterQueue(queue),
	// with the reason in metadata dead_letter_reason.
	DeadLetters message.Publisher
	// Announce publishes the "Object Created" event of an object just
	// written to the lake exactly as the tier's own notification announces
	// it, so the two are one event, handled once. Nil when the lake
	// announces every object itself (S3 to EventBridge on AWS).
	Announce func(ctx context.Context, obj lake.Object) error
	Log      *slog.Logger
	Meter    metric.MeterProvider
	Tracer   trace.TracerProvider

	routes []Route
	loops  []func(context.Context) error
}

// Route is one HTTP endpoint: a net/http ServeMux pattern such as
// "POST /v1/streams/{pipeline}/records", and its handler.
type Route struct {
	Pattern string
	Handler http.Handler
}

// Handle adds an HTTP route.
func (h *Host) Handle(pattern string, handler http.Handler) {
	h.routes = append(h.routes, Route{Pattern: pattern, Handler: handler})
}

// Go adds a loop to run beside the handlers.
func (h *Host) Go(loop func(ctx context.Context) error) { h.loops = append(h.loops, loop) }

// Routes returns the routes the attached workers added.
func (h *Host) Routes() []Route { return h.routes }

// Loops returns the loops the attached workers added.
func (h *Host) Loops() []func(context.Context) error { return h.loops }
