package stream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/telemetry"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// RecordsPattern is the records endpoint's route.
const RecordsPattern = "POST /v1/streams/{pipeline}/records"

// MaxRequestBytes bounds a request body of the records endpoint.
const MaxRequestBytes = 16 << 20

// Endpoint is POST /v1/streams/{pipeline}/records: it takes one JSON
// object, a JSON array of objects (application/json) or JSON lines
// (application/x-ndjson), checks every record against the pipeline, and
// publishes them as fusion.stream.records.v1 events, as many as their size
// needs. It answers 202 {"accepted": n} only once the bus accepted every
// event (durably: the queue file, or EventBridge). Nothing of a request
// with one bad record is published: 400 names the record (records[3],
// line 4) and the field. An unknown pipeline is 404, one without a stream
// block 409, another content type 415, a body over 16 MiB 413, a bus that
// refuses 503 (send again: the records are the same events).
type Endpoint struct {
	Pipelines worker.Pipelines
	Bus       transport.Bus
	Tracer    trace.Tracer
	Now       func() time.Time
}

// Accepted is the 202 answer.
type Accepted struct {
	Accepted int `json:"accepted"` // records published
	Events   int `json:"events"`   // events they took
}

func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, span := e.Tracer.Start(r.Context(), "ingest stream records", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	name := r.PathValue("pipeline")
	span.SetAttributes(attribute.String("fusion.pipeline", name))
	code, body := e.accept(ctx, name, r.Header.Get("Content-Type"), http.MaxBytesReader(w, r.Body, MaxRequestBytes), requestID(r))
	if code >= 400 {
		span.SetStatus(codes.Error, fmt.Sprint(body))
	}
	writeJSON(w, code, body)
}

func (e *Endpoint) accept(ctx context.Context, name, contentType string, body interface{ Read([]byte) (int, error) }, reqID string) (int, any) {
	p, err := e.Pipelines.Get(name)
	switch {
	case errors.Is(err, pipeline.ErrNoPipeline):
		return http.StatusNotFound, problem(err)
	case err != nil:
		return http.StatusConflict, problem(err)
	}
	c, ok := newChecker(p)
	if !ok {
		return http.StatusConflict, problem(fmt.Errorf("pipeline %s does not stream: %s has no stream block", p.Name, p.File))
	}
	format, err := bodyFormat(contentType)
	if err != nil {
		return http.StatusUnsupportedMediaType, problem(err)
	}
	records, names, err := ParseRecords(format, body)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, problem(fmt.Errorf("the body is over %d bytes: send fewer records per request", tooBig.Limit))
	case err != nil:
		return http.StatusBadRequest, problem(err)
	case len(records) == 0:
		return http.StatusBadRequest, problem(errors.New("body: no records"))
	}
	for i, rec := range records {
		if _, err := c.prepare(rec); err != nil {
			return http.StatusBadRequest, problem(&RecordError{Where: names[i], Err: err})
		}
	}
	now := e.Now()
	var envs []messages.Envelope
	for i, chunk := range messages.SplitStreamRecords(records) {
		d := &messages.StreamRecords{Pipeline: p.Name, RequestID: fmt.Sprintf("%s-%d", reqID, i), Records: chunk}
		telemetry.Propagator.Inject(ctx, telemetry.DetailCarrier{TC: d.Trace()})
		env, err := messages.New(d, now)
		if err != nil {
			return http.StatusInternalServerError, problem(err)
		}
		envs = append(envs, env)
	}
	if err := e.Bus.Publish(ctx, envs...); err != nil {
		return http.StatusServiceUnavailable, problem(fmt.Errorf("the bus did not accept the records (send them again): %w", err))
	}
	return http.StatusAccepted, Accepted{Accepted: len(records), Events: len(envs)}
}

// bodyFormat reads the request's content type.
func bodyFormat(contentType string) (string, error) {
	if contentType == "" {
		return FormatJSON, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	switch {
	case err != nil:
		return "", fmt.Errorf("Content-Type %q: %v", contentType, err)
	case mt == FormatJSON:
		return FormatJSON, nil
	case mt == FormatLines || mt == "application/jsonl" || mt == "application/x-jsonlines":
		return FormatLines, nil
	}
	return "", fmt.Errorf("Content-Type %q: send %s (one object or an array of objects) or %s (JSON lines)", mt, FormatJSON, FormatLines)
}

// requestID names the request in its events: the caller's X-Request-Id
// when it is short printable text, a random one otherwise.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 100 && strings.IndexFunc(id, func(c rune) bool { return !unicode.IsPrint(c) }) < 0 {
		return id
	}
	var b [8]byte
	rand.Read(b[:])
	return "http-" + hex.EncodeToString(b[:])
}

func problem(err error) map[string]string { return map[string]string{"error": err.Error()} }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
