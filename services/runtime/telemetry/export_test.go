package telemetry_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/fusiondata/fusion/services/runtime/telemetry"
	"github.com/fusiondata/fusion/services/runtime/telemetry/otlptest"
)

// Spans of two services reach a real OTLP receiver over gRPC and over
// HTTP/protobuf, the exporter configured by the standard variables only,
// and Shutdown flushes them: nothing is exported before it here (the
// batch processor's delay is longer than the test).
func TestOTLPExportOverGRPCAndHTTP(t *testing.T) {
	for _, tc := range []struct {
		protocol string
		start    func(string, bool) (*otlptest.Receiver, error)
	}{
		{telemetry.ProtocolGRPC, otlptest.StartGRPC},
		{telemetry.ProtocolHTTP, otlptest.StartHTTP},
	} {
		t.Run(tc.protocol, func(t *testing.T) {
			rcv, err := tc.start("127.0.0.1:0", true)
			if err != nil {
				t.Fatal(err)
			}
			defer rcv.Close()
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.Endpoint)
			t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "60000")
			ctx := context.Background()
			exp, err := telemetry.NewOTLPExporter(ctx, tc.protocol)
			if err != nil {
				t.Fatal(err)
			}
			tr := telemetry.NewTracing(map[string]string{"deployment.environment": "test"}, sdktrace.NewBatchSpanProcessor(exp))
			pctx, parent := tr.Provider("fusion-transform").Tracer("t").Start(ctx, "transform transform")
			_, child := tr.Provider("fusion-loader").Tracer("t").Start(pctx, "loader load.curated")
			child.End()
			parent.End()
			if rcv.Count() != 0 {
				t.Fatalf("%d spans exported before the flush", rcv.Count())
			}
			if err := tr.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			got := map[string]otlptest.Span{}
			for _, s := range rcv.Spans() {
				got[s.Service] = s
			}
			p, c := got["fusion-transform"], got["fusion-loader"]
			if len(got) != 2 || p.Name != "transform transform" || c.Name != "loader load.curated" ||
				c.TraceID != p.TraceID || c.Parent != p.SpanID || p.Parent != "" {
				t.Errorf("received %+v", rcv.Spans())
			}
		})
	}
}

func TestUnknownProtocolIsRefused(t *testing.T) {
	if _, err := telemetry.NewOTLPExporter(context.Background(), "http/json"); err == nil {
		t.Error("http/json accepted")
	}
}
