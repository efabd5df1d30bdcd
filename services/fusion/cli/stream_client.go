package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
)

// streamClient talks to a process's HTTP endpoints: the ingest worker's
// records endpoint and the inference worker's scores.
type streamClient struct {
	base string // http://host:port
	http *http.Client
}

func newStreamClient(addr string) *streamClient {
	return &streamClient{base: "http://" + addr, http: &http.Client{Timeout: time.Minute}}
}

// waitHTTP waits until the platform serves its endpoints and returns their
// address.
func waitHTTP(ctx context.Context, p *platform.Platform) (string, error) {
	for {
		if a := p.HTTPAddr(); a != "" {
			return a, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("the HTTP endpoints did not come up: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// do sends a request and decodes the JSON answer into out; an answer with
// another status than want is an error carrying the answer's "error".
func (c *streamClient) do(ctx context.Context, method, path, contentType string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(b, &e)
		return &httpError{Status: resp.StatusCode, Msg: e.Error}
	}
	return json.Unmarshal(b, out)
}

// httpError is an answer other than the one expected.
type httpError struct {
	Status int
	Msg    string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Msg) }

// post sends records as one JSON array and returns how many were accepted.
func (c *streamClient) post(ctx context.Context, pipelineName string, records []json.RawMessage) (int, error) {
	var body bytes.Buffer
	body.WriteByte('[')
	for i, r := range records {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(r)
	}
	body.WriteByte(']')
	var out struct {
		Accepted int `json:"accepted"`
	}
	err := c.do(ctx, http.MethodPost, "/v1/streams/"+pipelineName+"/records", "application/json", body.Bytes(), http.StatusAccepted, &out)
	return out.Accepted, err
}

// realtimeScore is the inference worker's answer to a scoring request.
type realtimeScore struct {
	Score     float64        `json:"score"`
	Model     string         `json:"model"`
	Version   string         `json:"version"`
	Keys      map[string]any `json:"keys"`
	LatencyMS float64        `json:"latency_ms"`
}

func (c *streamClient) score(ctx context.Context, pipelineName string, record json.RawMessage) (realtimeScore, error) {
	var out realtimeScore
	err := c.do(ctx, http.MethodPost, "/v1/score/"+pipelineName, "application/json", record, http.StatusOK, &out)
	return out, err
}

// scoreLatency is the inference worker's report on recent scorings.
type scoreLatency struct {
	Count int     `json:"count"`
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
}

func (c *streamClient) latency(ctx context.Context, pipelineName string) (scoreLatency, error) {
	var out scoreLatency
	err := c.do(ctx, http.MethodGet, "/v1/score/"+pipelineName+"/latency", "", nil, http.StatusOK, &out)
	return out, err
}

// streamRuns are the runs of a pipeline's micro-batches.
type streamRuns struct {
	Runs    []ledger.Run
	Records int64 // records the runs ingested
}

// waitStreamRuns waits until the runs of a pipeline's micro-batches have
// ingested at least records records and every one of them has finished,
// and returns them, oldest first.
func waitStreamRuns(ctx context.Context, p *platform.Platform, pl *pipeline.Pipeline, records int64) (streamRuns, error) {
	b, ok := pl.Batching()
	if !ok {
		return streamRuns{}, fmt.Errorf("pipeline %s does not stream", pl.Name)
	}
	for {
		asked := time.Now()
		runs, err := p.Ledger.Runs(ctx, 1_000_000)
		// Poll at most a tenth of the time: reading many runs is not free,
		// and the workers measured share the machine.
		pause := max(50*time.Millisecond, 10*time.Since(asked))
		if err != nil && ctx.Err() == nil {
			return streamRuns{}, err
		}
		var out streamRuns
		running := false
		for _, r := range runs {
			if r.Pipeline != pl.Name || !strings.HasPrefix(r.Input, b.Prefix) {
				continue
			}
			out.Runs = append(out.Runs, r)
			running = running || r.Status == ledger.Running
			for _, s := range r.Steps {
				if s.Name == "ingest" && s.Status == ledger.Succeeded {
					out.Records += s.RowsIn
				}
			}
		}
		if out.Records >= records && !running {
			sort.Slice(out.Runs, func(i, j int) bool { return out.Runs[i].Input < out.Runs[j].Input })
			return out, nil
		}
		select {
		case <-ctx.Done():
			return out, fmt.Errorf("waiting for %d records to be loaded (%d so far, in %d micro-batches): %w", records, out.Records, len(out.Runs), ctx.Err())
		case <-time.After(pause):
		}
	}
}

// loadedAt is when a run's last load step finished.
func loadedAt(r ledger.Run) time.Time {
	var at time.Time
	for _, s := range r.Steps {
		if strings.HasPrefix(s.Name, "load.") {
			if end := s.StartedAt.Add(time.Duration(s.DurationMS) * time.Millisecond); end.After(at) {
				at = end
			}
		}
	}
	return at
}

// batchIDs reads the record ids of a run's micro-batch from its raw copy.
func batchIDs(ctx context.Context, l lake.Lake, r ledger.Run, idField string) ([]string, error) {
	key := lake.RunKey(lake.Raw, r.Pipeline, r.ID, r.Input[strings.LastIndexByte(r.Input, '/')+1:])
	rc, err := l.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var ids []string
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &fields); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		id, ok := fields[idField]
		if !ok {
			return nil, fmt.Errorf("%s: a record without %s", key, idField)
		}
		ids = append(ids, string(id))
	}
	return ids, sc.Err()
}

// postToWarehouse is, for each record, the time from its POST to the end
// of the load that put its batch in the warehouse, by the run ledger. A
// record batched twice (after a redelivery) counts at its first load.
func postToWarehouse(ctx context.Context, l lake.Lake, runs []ledger.Run, idField string, posted map[string]time.Time) ([]time.Duration, error) {
	first := map[string]time.Time{}
	for _, r := range runs {
		if r.Status != ledger.Succeeded {
			return nil, fmt.Errorf("run %s of %s %s", r.ID, r.Input, r.Status)
		}
		ids, err := batchIDs(ctx, l, r, idField)
		if err != nil {
			return nil, err
		}
		at := loadedAt(r)
		for _, id := range ids {
			if t, ok := first[id]; !ok || at.Before(t) {
				first[id] = at
			}
		}
	}
	var out []time.Duration
	for id, sent := range posted {
		at, ok := first[id]
		if !ok {
			return nil, fmt.Errorf("record %s is in no micro-batch", id)
		}
		out = append(out, at.Sub(sent))
	}
	if len(out) == 0 {
		return nil, errors.New("no records posted")
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.9999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}
