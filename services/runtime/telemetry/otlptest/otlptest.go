// Package otlptest receives OTLP traces the way a collector does, for
// tests and benchmarks: a gRPC server implementing the collector's
// TraceService, and an HTTP server decoding the protobuf POSTed to
// /v1/traces. Both listen on loopback.
package otlptest

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Span is what a receiver keeps of a span.
type Span struct {
	Service string // the resource's service.name
	Name    string
	TraceID string // hex
	SpanID  string
	Parent  string // "" for a root
}

// Receiver collects the spans exported to it.
type Receiver struct {
	// Endpoint is the URL to export to (OTEL_EXPORTER_OTLP_ENDPOINT).
	Endpoint string
	keep     bool
	count    atomic.Int64
	requests atomic.Int64
	mu       sync.Mutex
	spans    []Span
	stop     func() error
}

// Count is how many spans arrived.
func (r *Receiver) Count() int64 { return r.count.Load() }

// Requests is how many export requests arrived.
func (r *Receiver) Requests() int64 { return r.requests.Load() }

// Spans returns the spans kept (none for a receiver that discards).
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Close stops the server.
func (r *Receiver) Close() error { return r.stop() }

func (r *Receiver) take(req *coltracepb.ExportTraceServiceRequest) {
	r.requests.Add(1)
	var got []Span
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.count.Add(1)
				if r.keep {
					got = append(got, Span{Service: service, Name: s.GetName(), TraceID: hex.EncodeToString(s.GetTraceId()),
						SpanID: hex.EncodeToString(s.GetSpanId()), Parent: hex.EncodeToString(s.GetParentSpanId())})
				}
			}
		}
	}
	if len(got) > 0 {
		r.mu.Lock()
		r.spans = append(r.spans, got...)
		r.mu.Unlock()
	}
}

type traceService struct {
	coltracepb.UnimplementedTraceServiceServer
	r *Receiver
}

func (s traceService) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.r.take(req)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// StartGRPC serves OTLP/gRPC on addr (127.0.0.1:0 picks a port); keep
// says whether to keep the spans or only count them.
func StartGRPC(addr string, keep bool) (*Receiver, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("otlptest: %w", err)
	}
	r := &Receiver{Endpoint: "http://" + ln.Addr().String(), keep: keep}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, traceService{r: r})
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	r.stop = func() error { srv.GracefulStop(); <-done; return nil }
	return r, nil
}

// StartHTTP serves OTLP/HTTP (binary protobuf) on addr.
func StartHTTP(addr string, keep bool) (*Receiver, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("otlptest: %w", err)
	}
	r := &Receiver{Endpoint: "http://" + ln.Addr().String(), keep: keep}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, req *http.Request) {
		if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
			http.Error(w, "content type "+ct, http.StatusUnsupportedMediaType)
			return
		}
		var in io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			in = gz
		}
		body, err := io.ReadAll(in)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var msg coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.take(&msg)
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	r.stop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(ctx)
		<-done
		return err
	}
	return r, nil
}
