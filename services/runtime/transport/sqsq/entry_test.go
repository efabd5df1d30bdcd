package sqsq

import (
	"fmt"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
)

// SQS carries ten attributes: a message at the limit gives up its
// tracestate before anything else, and keeps its traceparent.
func TestTraceStateGivesWayAtTheAttributeLimit(t *testing.T) {
	m := message.NewMessage("m", []byte("{}"))
	for i := range 8 {
		m.Metadata.Set(fmt.Sprintf("k%d", i), "v")
	}
	m.Metadata.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	m.Metadata.Set("tracestate", "vendor=1")
	e, _, err := toEntry(0, m)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.MessageAttributes["tracestate"]; ok || e.MessageAttributes["traceparent"].StringValue == nil || len(e.MessageAttributes) != maxAttributes {
		t.Errorf("attributes %v", e.MessageAttributes)
	}
	m.Metadata.Set("k8", "v")
	if _, _, err := toEntry(0, m); err == nil {
		t.Error("eleven attributes accepted")
	}
}
