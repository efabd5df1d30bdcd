package handler

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// Real-time scoring: POST /v1/score/{pipeline} takes one JSON record,
// applies the pipeline's transform SQL to it in DuckDB — the same typed
// read of the declared source schema and the same SQL as the batch path,
// so the features are the batch path's — and scores it with the
// pipeline's model. GET /v1/score/{pipeline}/latency reports the p50 and
// p99 of recent scorings.
const (
	ScorePattern   = "POST /v1/score/{pipeline}"
	LatencyPattern = "GET /v1/score/{pipeline}/latency"
)

// maxScoreBody bounds a scoring request: one record.
const maxScoreBody = 64 << 10

// modelRecheck is how often a pipeline's scorer checks that its model
// version's files are unchanged (a Stat of each, on S3 a request each).
const modelRecheck = 10 * time.Second

// Score is the answer to a scoring request. A scoring runs two prepared
// statements (the record's typed read, checked; the transform) and the
// model: about 2 ms on 2 vCPUs, most of it DuckDB's per-statement cost.
type Score struct {
	Score     float64        `json:"score"`
	Model     string         `json:"model"`
	Version   string         `json:"version"`
	Keys      map[string]any `json:"keys"`
	LatencyMS float64        `json:"latency_ms"`
}

// realtime serves the scoring endpoints. Each pipeline has a pool of
// DuckDB connections, each with the scoring statement prepared once, so a
// request parses no SQL; the pool is rebuilt when the pipeline file or
// the model changes.
type realtime struct {
	scorer  *scorer
	deps    worker.Deps
	latency *latencies

	mu    sync.Mutex
	pools map[string]*scorePool
}

// scorePool is one pipeline's prepared scoring.
type scorePool struct {
	pipeline *pipeline.Pipeline // the definition it was built from
	model    loaded
	checked  time.Time // when the model's files were last checked
	check    string
	query    string
	features int
	keys     []string

	mu      sync.Mutex
	idle    []*scoreConn
	conns   int  // open, idle or in use
	retired bool // replaced: connections put back are closed
	freed   chan struct{}
}

type scoreConn struct {
	conn  *sql.Conn
	check *sql.Stmt // checkSQL
	stmt  *sql.Stmt // scoringSQL
}

// attach serves the scoring endpoints on the process's HTTP server.
func (h *scorer) attach(host *worker.Host) error {
	l, err := newLatencies(host.Meter)
	if err != nil {
		return err
	}
	rt := &realtime{scorer: h, deps: h.deps, latency: l, pools: map[string]*scorePool{}}
	host.Handle(ScorePattern, http.HandlerFunc(rt.serveScore))
	host.Handle(LatencyPattern, http.HandlerFunc(rt.serveLatency))
	return nil
}

// problem is a refused scoring request.
type problem struct {
	code int
	err  error
}

func (p *problem) Error() string { return p.err.Error() }

func refuse(code int, format string, args ...any) error {
	return &problem{code: code, err: fmt.Errorf(format, args...)}
}

func (rt *realtime) serveScore(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name := r.PathValue("pipeline")
	record, err := readRecord(http.MaxBytesReader(w, r.Body, maxScoreBody))
	var s Score
	if err == nil {
		s, err = rt.score(r.Context(), name, record)
	}
	if err != nil {
		code := http.StatusInternalServerError
		var p *problem
		if errors.As(err, &p) {
			code = p.code
		}
		writeJSON(w, code, map[string]string{"error": err.Error()})
		return
	}
	took := time.Since(start)
	rt.latency.record(r.Context(), name, took)
	s.LatencyMS = float64(took.Microseconds()) / 1000
	writeJSON(w, http.StatusOK, s)
}

func (rt *realtime) serveLatency(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, rt.latency.report(r.PathValue("pipeline")))
}

// readRecord reads one JSON object, compact.
func readRecord(body io.Reader) (json.RawMessage, error) {
	b, err := io.ReadAll(body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, refuse(http.StatusRequestEntityTooLarge, "record: over %d bytes", tooBig.Limit)
	}
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return nil, refuse(http.StatusBadRequest, "record: the body must be one JSON object")
	}
	return buf.Bytes(), nil
}

// score scores one record with a pipeline's transform and model.
func (rt *realtime) score(ctx context.Context, name string, record json.RawMessage) (Score, error) {
	pool, err := rt.pool(ctx, name)
	if err != nil {
		return Score{}, err
	}
	c, err := pool.get(ctx, rt.deps.Engine)
	if err != nil {
		return Score{}, err
	}
	s, err := pool.run(ctx, c, record)
	pool.put(c, err)
	return s, err
}

// pool returns the pipeline's scoring pool, building it on first use and
// again when the pipeline or its model changed.
func (rt *realtime) pool(ctx context.Context, name string) (*scorePool, error) {
	p, err := rt.deps.Pipelines.Get(name)
	switch {
	case errors.Is(err, pipeline.ErrNoPipeline):
		return nil, refuse(http.StatusNotFound, "%v", err)
	case err != nil:
		return nil, refuse(http.StatusConflict, "%v", err)
	case p.Inference == nil:
		return nil, refuse(http.StatusConflict, "pipeline %s has no inference section: nothing scores its records", p.Name)
	case p.Transform.Engine != pipeline.EngineDuckDB:
		return nil, refuse(http.StatusConflict, "pipeline %s transforms in %s: real-time scoring runs the transform in DuckDB only", p.Name, p.Transform.Engine)
	case len(p.Source.Schema) == 0:
		return nil, refuse(http.StatusConflict, "pipeline %s declares no source.schema: a record's types would be guessed, not the batch path's", p.Name)
	}
	rt.mu.Lock()
	pool := rt.pools[name]
	fresh := pool != nil && pool.pipeline == p && time.Since(pool.checked) < modelRecheck
	rt.mu.Unlock()
	if fresh {
		return pool, nil
	}
	m, err := rt.scorer.model(ctx, p.Inference.Model, p.Inference.Version)
	if err != nil {
		if worker.IsPermanent(err) {
			return nil, refuse(http.StatusConflict, "%v", err)
		}
		return nil, err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if pool = rt.pools[name]; pool != nil && pool.pipeline == p && pool.model.tag == m.tag {
		pool.checked = time.Now()
		return pool, nil
	}
	next := newScorePool(p, m)
	if pool != nil {
		pool.retire()
	}
	rt.pools[name] = next
	return next, nil
}

func newScorePool(p *pipeline.Pipeline, m loaded) *scorePool {
	return &scorePool{pipeline: p, model: m, checked: time.Now(), check: checkSQL(p), query: scoringSQL(p, m.meta.Features), features: len(m.meta.Features),
		keys: p.Inference.Keys, freed: make(chan struct{}, 1)}
}

// recordInput is the record ($1) read as the source schema declares it,
// into the view "input", exactly as ingest reads a JSON-lines file
// (json_transform is read_json's typed conversion).
func recordInput(p *pipeline.Pipeline) string {
	var structure []string
	for _, c := range p.Source.Schema {
		name, _ := json.Marshal(c.Name)
		structure = append(structure, string(name)+":"+mustJSON(c.Type))
	}
	return fmt.Sprintf("WITH __fusion_record AS (SELECT CAST($1 AS JSON) AS j), input AS (SELECT unnest(json_transform(j, %s)) FROM __fusion_record)",
		engine.QuoteString("{"+strings.Join(structure, ",")+"}"))
}

// checkSQL lists which declared columns of the record read as NULL: where
// the record has a value there, the type could not take it.
func checkSQL(p *pipeline.Pipeline) string {
	var nulls []string
	for _, c := range p.Source.Schema {
		nulls = append(nulls, engine.QuoteIdent(c.Name)+" IS NULL")
	}
	return recordInput(p) + " SELECT [" + strings.Join(nulls, ", ") + "] FROM input"
}

// scoringSQL runs the pipeline's transform SQL over the record and
// returns 1, the keys and the model's features as DOUBLE, as the batch
// path casts them: no row when the transform keeps none.
func scoringSQL(p *pipeline.Pipeline, features []string) string {
	cols := []string{"1 AS __fusion_row"}
	for _, k := range p.Inference.Keys {
		cols = append(cols, engine.QuoteIdent(k))
	}
	for _, f := range features {
		cols = append(cols, "CAST("+engine.QuoteIdent(f)+" AS DOUBLE)")
	}
	transform := strings.TrimRight(strings.TrimSpace(p.Transform.SQL), ";")
	return fmt.Sprintf("%s SELECT %s FROM (%s) AS __fusion_transformed", recordInput(p), strings.Join(cols, ", "), transform)
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// get takes an idle connection, opens one while fewer than one per CPU
// are open, or waits for one to be put back.
func (pool *scorePool) get(ctx context.Context, e *engine.Engine) (*scoreConn, error) {
	for {
		pool.mu.Lock()
		if n := len(pool.idle); n > 0 {
			c := pool.idle[n-1]
			pool.idle = pool.idle[:n-1]
			pool.mu.Unlock()
			return c, nil
		}
		if pool.conns < runtime.GOMAXPROCS(0) {
			pool.conns++
			pool.mu.Unlock()
			c, err := pool.open(ctx, e)
			if err != nil {
				pool.mu.Lock()
				pool.conns--
				pool.mu.Unlock()
			}
			return c, err
		}
		pool.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-pool.freed:
		}
	}
}

// open prepares the statements on a new connection. A statement that
// does not prepare is the pipeline's problem: its SQL or its model's
// features do not fit its schema.
func (pool *scorePool) open(ctx context.Context, e *engine.Engine) (*scoreConn, error) {
	conn, err := e.Conn(ctx)
	if err != nil {
		return nil, err
	}
	c := &scoreConn{conn: conn}
	if c.check, err = conn.PrepareContext(ctx, pool.check); err == nil {
		c.stmt, err = conn.PrepareContext(ctx, pool.query)
	}
	if err != nil {
		c.close()
		return nil, refuse(http.StatusConflict, "%s: transform.sql over one record, with model %s@%s's features %v: %v",
			pool.pipeline.File, pool.model.meta.Name, pool.model.meta.Version, pool.model.meta.Features, firstLine(err))
	}
	return c, nil
}

// put returns a connection to the pool; one whose statement failed for
// the engine's own reasons, or of a retired pool, is closed instead.
func (pool *scorePool) put(c *scoreConn, err error) {
	var p *problem
	pool.mu.Lock()
	retired := pool.retired
	pool.mu.Unlock()
	if retired || (err != nil && !errors.As(err, &p)) {
		c.close()
		pool.mu.Lock()
		pool.conns--
		pool.mu.Unlock()
	} else {
		pool.mu.Lock()
		pool.idle = append(pool.idle, c)
		pool.mu.Unlock()
	}
	select {
	case pool.freed <- struct{}{}:
	default:
	}
}

// retire closes the idle connections of a pool replaced by another, and
// those in use as they are put back.
func (pool *scorePool) retire() {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	pool.retired = true
	for _, c := range pool.idle {
		c.close()
	}
	pool.idle = nil
}

func (c *scoreConn) close() {
	for _, st := range []*sql.Stmt{c.check, c.stmt} {
		if st != nil {
			st.Close()
		}
	}
	c.conn.Close()
}

// run checks a record and scores it on a prepared connection.
func (pool *scorePool) run(ctx context.Context, c *scoreConn, record json.RawMessage) (Score, error) {
	if err := pool.checkRecord(ctx, c, record); err != nil {
		return Score{}, err
	}
	rows, err := c.stmt.QueryContext(ctx, string(record))
	if err != nil {
		return Score{}, refuse(http.StatusBadRequest, "record: %v", firstLine(err))
	}
	defer rows.Close()
	width := 1 + len(pool.keys) + pool.features
	vals := make([]any, width)
	ptrs := make([]any, width)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Score{}, refuse(http.StatusBadRequest, "record: %v", firstLine(err))
		}
		return Score{}, refuse(http.StatusUnprocessableEntity, "%s: transform.sql keeps no row of this record (its WHERE filters it out)", pool.pipeline.File)
	}
	if err := rows.Scan(ptrs...); err != nil {
		return Score{}, err
	}
	if rows.Next() {
		return Score{}, refuse(http.StatusUnprocessableEntity, "%s: transform.sql makes several rows of one record; real-time scoring scores one", pool.pipeline.File)
	}
	s := Score{Model: pool.model.meta.Name, Version: pool.model.meta.Version, Keys: map[string]any{}}
	for i, k := range pool.keys {
		s.Keys[k] = vals[1+i]
	}
	row := make([]float64, pool.features)
	for j := range row {
		row[j] = math.NaN() // a missing value, as the batch path scores NULL
		if f, ok := vals[1+len(pool.keys)+j].(float64); ok {
			row[j] = f
		}
	}
	s.Score = pool.model.model.Predict(row)
	return s, nil
}

// checkRecord refuses a record the batch path would refuse: a value its
// declared column cannot take (json_transform reads it as NULL, where
// ingest's read_json fails), a required column without a value.
func (pool *scorePool) checkRecord(ctx context.Context, c *scoreConn, record json.RawMessage) error {
	var nulls []any
	if err := c.check.QueryRowContext(ctx, string(record)).Scan(&nulls); err != nil {
		return refuse(http.StatusBadRequest, "record: %v", firstLine(err))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(record, &fields); err != nil {
		return refuse(http.StatusBadRequest, "record: %v", err)
	}
	var problems []string
	for i, col := range pool.pipeline.Source.Schema {
		if null, _ := nulls[i].(bool); !null {
			continue
		}
		switch v, ok := fields[col.Name]; {
		case ok && string(v) != "null":
			problems = append(problems, fmt.Sprintf("%s: %s is not a valid %s", col.Name, v, col.Type))
		case col.Required:
			problems = append(problems, col.Name+": is required")
		}
	}
	if len(problems) > 0 {
		return refuse(http.StatusBadRequest, "record: %s", strings.Join(problems, "; "))
	}
	return nil
}

func firstLine(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
