package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/fusiondata/fusion/services/fusion/sample"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

func init() {
	demoDrivers["churn_stream"] = demoDriver{
		// The endpoints on a loopback port of the system's choosing,
		// unless FUSION_HTTP_ADDR names one.
		Configure: func(c *config.Config) {
			if c.HTTPAddr == "" {
				c.HTTPAddr = "127.0.0.1:0"
			}
		},
		Feed: demoStream,
	}
}

// Streaming demo sizes.
const (
	streamRequestRecords = 250 // records per POST
	streamClients        = 4   // POSTs at once
	streamScored         = 200 // records scored in real time
)

// streamed is what feeding a stream measured.
type streamed struct {
	Posted   int
	Requests int
	PostTook time.Duration        // first POST sent to last accepted
	PostedAt map[string]time.Time // by record id (its JSON text)
	Start    time.Time
}

// feedStream posts records to a pipeline's records endpoint in requests of
// perRequest records, clients at a time, and notes when each record was sent.
func feedStream(ctx context.Context, c *streamClient, pl *pipeline.Pipeline, records []json.RawMessage, perRequest, clients int) (streamed, error) {
	b, _ := pl.Batching()
	out := streamed{PostedAt: map[string]time.Time{}, Start: time.Now()}
	var mu sync.Mutex
	var firstErr error
	work := make(chan []json.RawMessage)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range work {
				sent := time.Now()
				n, err := c.post(ctx, pl.Name, chunk)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				out.Posted += n
				out.Requests++
				for _, r := range chunk {
					var fields map[string]json.RawMessage
					if json.Unmarshal(r, &fields) == nil {
						if id, ok := fields[b.IDField]; ok {
							if _, seen := out.PostedAt[string(id)]; !seen {
								out.PostedAt[string(id)] = sent
							}
						}
					}
				}
				mu.Unlock()
			}
		}()
	}
	for start := 0; start < len(records); start += perRequest {
		select {
		case work <- records[start:min(start+perRequest, len(records))]:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	out.PostTook = time.Since(out.Start)
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return out, firstErr
}

// demoStream streams the churn sample: it posts the customers as JSON
// records, waits until every one is in the warehouse, scores some in real
// time, and prints throughput and latencies.
func demoStream(ctx context.Context, s *demoSession) error {
	addr, err := waitHTTP(ctx, s.P)
	if err != nil {
		return err
	}
	c := newStreamClient(addr)
	records, err := sample.ChurnRecords(s.Rows, s.Seed)
	if err != nil {
		return err
	}
	b, _ := s.Pipeline.Batching()
	fmt.Fprintf(s.Progress, "fusion demo: home %s, %d customers posted to http://%s/v1/streams/%s/records\n", s.Home, len(records), addr, s.Pipeline.Name)
	fed, err := feedStream(ctx, c, s.Pipeline, records, streamRequestRecords, streamClients)
	if err != nil {
		return fmt.Errorf("posting records: %w", err)
	}
	runs, err := waitStreamRuns(ctx, s.P, s.Pipeline, int64(len(fed.PostedAt)))
	if err != nil {
		return err
	}
	lat, err := postToWarehouse(ctx, s.P.Lake, runs.Runs, b.IDField, fed.PostedAt)
	if err != nil {
		return err
	}
	last := fed.Start
	sizes := map[int]int{}
	for _, r := range runs.Runs {
		if at := loadedAt(r); at.After(last) {
			last = at
		}
		for _, st := range r.Steps {
			if st.Name == "ingest" {
				sizes[int(st.RowsIn)]++
			}
		}
	}
	fmt.Fprintf(s.Out, "posted      %d records in %d requests of %d (%d at once) in %s: %.0f records/s\n",
		fed.Posted, fed.Requests, streamRequestRecords, streamClients, round(fed.PostTook), float64(fed.Posted)/fed.PostTook.Seconds())
	fmt.Fprintf(s.Out, "batched     %d micro-batches sealed (max_records %d, max_bytes %d, max_wait %s): %s\n",
		len(runs.Runs), b.MaxRecords, b.MaxBytes, b.MaxWait, batchSizes(sizes))
	fmt.Fprintf(s.Out, "loaded      every record in the warehouse %s after the first POST: %.0f records/s end to end\n",
		round(last.Sub(fed.Start)), float64(fed.Posted)/last.Sub(fed.Start).Seconds())
	fmt.Fprintf(s.Out, "latency     POST -> row in the warehouse: p50 %s  p99 %s  max %s\n",
		round(percentile(lat, 50)), round(percentile(lat, 99)), round(lat[len(lat)-1]))

	// Each record once, and its score: the loads merge by the record id.
	wh := s.P.Deps.Warehouse
	var customers, distinct, scores int64
	if err := wh.Query(ctx, "SELECT count(*), count(DISTINCT customer_id), (SELECT count(*) FROM churn_stream_predictions) FROM churn_stream_customers", func(_ []string, row []any) error {
		if row != nil {
			customers, distinct, scores = toInt(row[0]), toInt(row[1]), toInt(row[2])
		}
		return nil
	}); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "warehouse   %d customers in churn_stream_customers (%d distinct), %d scores in churn_stream_predictions\n", customers, distinct, scores)

	scored, worst, err := scoreSome(ctx, c, wh, s.Pipeline, records, streamScored)
	if err != nil {
		return err
	}
	rl, err := c.latency(ctx, s.Pipeline.Name)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "real time   %d records scored one by one (POST /v1/score/%s): p50 %.2fms  p99 %.2fms; max |real-time - batch score| %.3g\n",
		scored, s.Pipeline.Name, rl.P50MS, rl.P99MS, worst)
	fmt.Fprintf(s.Out, "\nhome %s (lake/, warehouse.duckdb, logs in fusion.log)\n", s.Home)
	fmt.Fprintf(s.Out, "try  fusion query --home %s \"SELECT plan, count(*) AS customers, round(avg(score), 3) AS churn_risk FROM churn_stream_customers JOIN churn_stream_predictions USING (customer_id) GROUP BY plan ORDER BY plan\"\n", s.Home)
	switch {
	case customers != distinct || customers != scores || customers == 0:
		return exitError{code: 1, msg: fmt.Sprintf("the warehouse holds %d customer rows for %d customers and %d scores", customers, distinct, scores)}
	case worst > 1e-9:
		return exitError{code: 1, msg: fmt.Sprintf("real-time scores differ from the batch scores by up to %g", worst)}
	}
	return nil
}

// scoreSome scores up to n records in real time, those the batch path
// scored, and returns how many it scored and the largest difference from
// the batch score in the warehouse.
func scoreSome(ctx context.Context, c *streamClient, wh warehouse.Warehouse, pl *pipeline.Pipeline, records []json.RawMessage, n int) (int, float64, error) {
	batch := map[int64]float64{}
	if err := wh.Query(ctx, "SELECT customer_id, score FROM "+streamPredictionsTable(pl), func(_ []string, row []any) error {
		if row != nil {
			batch[toInt(row[0])] = toFloat(row[1])
		}
		return nil
	}); err != nil {
		return 0, 0, err
	}
	scored, worst := 0, 0.0
	for _, r := range records {
		if scored == n {
			break
		}
		var fields struct {
			CustomerID int64 `json:"customer_id"`
		}
		if json.Unmarshal(r, &fields) != nil {
			continue
		}
		want, ok := batch[fields.CustomerID]
		if !ok {
			continue // filtered out by the transform: no batch score either
		}
		got, err := c.score(ctx, pl.Name, r)
		if err != nil {
			return scored, worst, fmt.Errorf("scoring customer %d: %w", fields.CustomerID, err)
		}
		worst = math.Max(worst, math.Abs(got.Score-want))
		scored++
	}
	return scored, worst, nil
}

// streamPredictionsTable is the table a pipeline loads its predictions into.
func streamPredictionsTable(pl *pipeline.Pipeline) string {
	if l, ok := pl.LoadFor(pipeline.DatasetPredictions); ok {
		return l.Table
	}
	return pl.Name + "_predictions"
}

// batchSizes describes micro-batch sizes: "10 of 1000 records".
func batchSizes(sizes map[int]int) string {
	var out string
	for size, n := range sizes {
		if out != "" {
			out += ", "
		}
		out += fmt.Sprintf("%d of %d records", n, size)
	}
	return out
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case float64:
		return int64(x)
	}
	n, _ := strconv.ParseInt(fmt.Sprint(v), 10, 64)
	return n
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	}
	f, _ := strconv.ParseFloat(fmt.Sprint(v), 64)
	return f
}
