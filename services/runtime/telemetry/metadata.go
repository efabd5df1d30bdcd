package telemetry

import (
	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/propagation"
)

// MetadataCarrier adapts a queued message's metadata to OpenTelemetry's
// propagators: the trace context rides beside the detail as the message's
// traceparent and tracestate metadata, which the embedded queues store with
// the message and SQS and SNS carry as message attributes. Consumers prefer
// the detail's context (EventBridge drops attributes on its hop); the
// metadata's is the parent when the detail has none, and a link otherwise
// when it differs (a dead letter's, naming the attempt that failed).
type MetadataCarrier message.Metadata

var _ propagation.TextMapCarrier = MetadataCarrier{}

func (c MetadataCarrier) Get(key string) string { return c[key] }

func (c MetadataCarrier) Set(key, value string) { c[key] = value }

func (c MetadataCarrier) Keys() []string {
	keys := make([]string, 0, 2)
	for _, k := range traceKeys {
		if _, ok := c[k]; ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// traceKeys are the W3C trace-context fields, the only ones fusion
// propagates: SQS carries ten attributes per message, so baggage stays
// behind.
var traceKeys = [...]string{"traceparent", "tracestate"}

// TraceKeys are the metadata keys (and SQS/SNS message attributes) that
// carry the trace context.
func TraceKeys() []string { return traceKeys[:] }
