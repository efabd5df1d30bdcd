package telemetry_test

import (
	"context"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/telemetry"
)

const (
	detailTP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	otherTP  = "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01"
)

func sources(detail, metadata string) []telemetry.Source {
	md := message.Metadata{}
	if metadata != "" {
		md.Set("traceparent", metadata)
	}
	return []telemetry.Source{
		{Name: "detail", Carrier: telemetry.DetailCarrier{TC: &messages.TraceContext{Traceparent: detail}}},
		{Name: "message metadata", Carrier: telemetry.MetadataCarrier(md)},
	}
}

func TestIncomingPrefersTheDetailAndLinksTheRest(t *testing.T) {
	for _, tc := range []struct {
		name, detail, metadata, parent string
		links                          []string
	}{
		{"detail only", detailTP, "", "00f067aa0ba902b7", nil},
		{"metadata only", "", otherTP, "b7ad6b7169203331", nil},
		{"both the same", detailTP, detailTP, "00f067aa0ba902b7", nil},
		{"both different", detailTP, otherTP, "00f067aa0ba902b7", []string{"b7ad6b7169203331"}},
		{"neither", "", "", "", nil},
		{"garbage in the detail", "00-zz", otherTP, "b7ad6b7169203331", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, links := telemetry.Incoming(context.Background(), sources(tc.detail, tc.metadata)...)
			sc := trace.SpanContextFromContext(ctx)
			if tc.parent == "" {
				if sc.IsValid() {
					t.Errorf("parent %v", sc)
				}
			} else if sc.SpanID().String() != tc.parent || !sc.IsRemote() {
				t.Errorf("parent %v, want span %s", sc, tc.parent)
			}
			var got []string
			for _, l := range links {
				got = append(got, l.SpanContext.SpanID().String())
				if len(l.Attributes) != 1 || l.Attributes[0].Value.AsString() != "message metadata" {
					t.Errorf("link attributes %v", l.Attributes)
				}
			}
			if len(got) != len(tc.links) || (len(got) > 0 && got[0] != tc.links[0]) {
				t.Errorf("links %v, want %v", got, tc.links)
			}
		})
	}
}

func TestMetadataCarriesTheContext(t *testing.T) {
	tp := telemetry.NewTracing(nil).Provider("p")
	ctx, span := tp.Tracer("t").Start(context.Background(), "producer")
	defer span.End()
	msg := message.NewMessage("1", nil)
	telemetry.Propagator.Inject(ctx, telemetry.MetadataCarrier(msg.Metadata))
	if got := msg.Metadata.Get("traceparent"); len(got) != 55 || got[36:52] != span.SpanContext().SpanID().String() {
		t.Errorf("traceparent %q", got)
	}
	if keys := telemetry.MetadataCarrier(msg.Metadata).Keys(); len(keys) != 1 || keys[0] != "traceparent" {
		t.Errorf("keys %v", keys)
	}
}
