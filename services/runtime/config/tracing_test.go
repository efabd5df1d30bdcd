package config

import (
	"strings"
	"testing"
)

func TestTracingFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     []string
		want    Tracing
		problem string
	}{
		{name: "off by default", want: Tracing{Protocol: OTLPHTTP}},
		{name: "endpoint and protocol", env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger:4317", "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"},
			want: Tracing{Endpoint: "http://jaeger:4317", Protocol: OTLPGRPC}},
		{name: "the traces variables win", env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://a:4317", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://b:4318/v1/traces",
			"OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf"},
			want: Tracing{Endpoint: "http://b:4318/v1/traces", Protocol: OTLPHTTP}},
		{name: "sdk disabled", env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://a:4317", "OTEL_SDK_DISABLED=true"}, want: Tracing{Protocol: OTLPHTTP}},
		{name: "exporter none", env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://a:4317", "OTEL_TRACES_EXPORTER=none"}, want: Tracing{Protocol: OTLPHTTP}},
		{name: "service and resource", env: []string{"OTEL_SERVICE_NAME=etl-loader", "OTEL_RESOURCE_ATTRIBUTES=deployment.environment=prod, team=data%20eng"},
			want: Tracing{Protocol: OTLPHTTP, ServiceName: "etl-loader", ResourceAttributes: map[string]string{"deployment.environment": "prod", "team": "data eng"}}},
		{name: "json protocol", env: []string{"OTEL_EXPORTER_OTLP_PROTOCOL=http/json"}, problem: `OTEL_EXPORTER_OTLP_PROTOCOL="http/json": use grpc or http/protobuf`},
		{name: "other exporter", env: []string{"OTEL_TRACES_EXPORTER=zipkin"}, problem: `OTEL_TRACES_EXPORTER="zipkin"`},
		{name: "bad resource", env: []string{"OTEL_RESOURCE_ATTRIBUTES=team"}, problem: `OTEL_RESOURCE_ATTRIBUTES: "team" is not key=value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := FromEnv(tc.env)
			if tc.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tc.problem) {
					t.Fatalf("error %v, want %q", err, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := c.Tracing
			if got.Endpoint != tc.want.Endpoint || got.Protocol != tc.want.Protocol || got.ServiceName != tc.want.ServiceName ||
				len(got.ResourceAttributes) != len(tc.want.ResourceAttributes) || got.Exporting() != (tc.want.Endpoint != "") {
				t.Fatalf("%+v, want %+v", got, tc.want)
			}
			for k, v := range tc.want.ResourceAttributes {
				if got.ResourceAttributes[k] != v {
					t.Errorf("%s=%q, want %q", k, got.ResourceAttributes[k], v)
				}
			}
		})
	}
}
