package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// OTLP protocols (OTEL_EXPORTER_OTLP_PROTOCOL).
const (
	OTLPGRPC = "grpc"
	OTLPHTTP = "http/protobuf"
)

// Tracing configures where spans go. Only the decision whether to export
// and how is fusion's; the OTLP exporters read the rest of the standard
// variables themselves (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _INSECURE,
// _COMPRESSION, _CERTIFICATE...), the SDK reads OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on) and OTEL_BSP_*,
// as every OpenTelemetry SDK does.
type Tracing struct {
	// Endpoint is the OTLP endpoint spans are exported to:
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT.
	// Empty, the default, exports nothing: every run still gets a trace id,
	// carried from hop to hop and kept in the run ledger.
	// OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none clear it.
	Endpoint string
	// Protocol is grpc or http/protobuf (the default):
	// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL.
	Protocol string
	// ServiceName names the service of a process that runs one worker
	// (OTEL_SERVICE_NAME); without it, and always in a process running
	// several workers (fusion run), each worker is fusion-<worker>.
	ServiceName string
	// ResourceAttributes describe every service of the process
	// (OTEL_RESOURCE_ATTRIBUTES: key=value,key=value, values
	// percent-encoded).
	ResourceAttributes map[string]string
}

// Exporting reports whether spans leave the process.
func (t Tracing) Exporting() bool { return t.Endpoint != "" }

// tracingFromEnv reads the OpenTelemetry variables that decide whether and
// how traces are exported.
func (c *Config) tracingFromEnv(get func(string) string) []error {
	var errs []error
	t := &c.Tracing
	t.Endpoint = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if t.Endpoint == "" {
		t.Endpoint = get("OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	t.Protocol = get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if t.Protocol == "" {
		t.Protocol = get("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if v := get("OTEL_SDK_DISABLED"); v != "" {
		off, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("OTEL_SDK_DISABLED=%q is not true or false", v))
		}
		if off {
			t.Endpoint = ""
		}
	}
	switch v := get("OTEL_TRACES_EXPORTER"); v {
	case "", "otlp":
	case "none":
		t.Endpoint = ""
	default:
		errs = append(errs, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: fusion exports traces with otlp (or none)", v))
	}
	t.ServiceName = get("OTEL_SERVICE_NAME")
	attrs, err := parseResourceAttributes(get("OTEL_RESOURCE_ATTRIBUTES"))
	if err != nil {
		errs = append(errs, err)
	}
	t.ResourceAttributes = attrs
	return errs
}

// parseResourceAttributes reads OTEL_RESOURCE_ATTRIBUTES.
func parseResourceAttributes(v string) (map[string]string, error) {
	if v == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, pair := range strings.Split(v, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, val, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %q is not key=value", pair)
		}
		decoded, err := url.PathUnescape(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %s: %w", k, err)
		}
		out[k] = decoded
	}
	return out, nil
}

func (c *Config) setTracingDefaults() {
	if c.Tracing.Protocol == "" {
		c.Tracing.Protocol = OTLPHTTP
	}
}

func (c Config) validateTracing() []error {
	switch c.Tracing.Protocol {
	case OTLPGRPC, OTLPHTTP:
		return nil
	}
	return []error{fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: use %s or %s", c.Tracing.Protocol, OTLPGRPC, OTLPHTTP)}
}
