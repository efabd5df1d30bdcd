// Package telemetry carries trace context across fusion's hops and sets up
// tracing for a process.
package telemetry

import (
	"go.opentelemetry.io/otel/propagation"

	"github.com/fusiondata/fusion/messages"
)

// DetailCarrier adapts the trace context carried inside an event detail to
// OpenTelemetry's propagators. EventBridge drops message headers, so the
// context travels in the detail on every transport.
type DetailCarrier struct{ TC *messages.TraceContext }

var _ propagation.TextMapCarrier = DetailCarrier{}

func (c DetailCarrier) Get(key string) string {
	switch key {
	case "traceparent":
		return c.TC.Traceparent
	case "tracestate":
		return c.TC.Tracestate
	}
	return ""
}

func (c DetailCarrier) Set(key, value string) {
	switch key {
	case "traceparent":
		c.TC.Traceparent = value
	case "tracestate":
		c.TC.Tracestate = value
	}
}

func (c DetailCarrier) Keys() []string { return []string{"traceparent", "tracestate"} }

// Propagator is the W3C trace-context propagator fusion uses on every hop.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}
