//go:build benchstream

package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/services/fusion/sample"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
)

// scripts/bench-stream.sh runs these: the churn_stream sample on the
// embedded default, one fresh home per micro-batch size.
var (
	streamRecords = flag.Int("stream.records", 10000, "records posted per micro-batch size")
	streamSizes   = flag.String("stream.sizes", "10,100,1000,5000", "max_records values to measure")
	streamRate    = flag.Int("stream.rate", 0, "records per second to post at (0: as fast as the endpoint takes them)")
	streamScores  = flag.Int("stream.scores", 1000, "records scored one by one in real time")
)

// benchPlatform runs every worker on a new home whose churn_stream seals
// micro-batches at maxRecords records (or 1s), with the HTTP endpoints on
// a loopback port.
func benchPlatform(b *testing.B, maxRecords int) (*platform.Platform, *streamClient, *pipeline.Pipeline) {
	b.Helper()
	home := b.TempDir()
	def, err := os.ReadFile("../../../deploy/pipelines/churn_stream.yaml")
	if err != nil {
		b.Fatal(err)
	}
	body := strings.Replace(string(def), "max_records: 1000 ", fmt.Sprintf("max_records: %d ", maxRecords), 1)
	body = strings.Replace(body, "max_bytes: 1MiB ", "max_bytes: 64MiB ", 1) // count and wait seal, not bytes
	dir := filepath.Join(home, "pipelines")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "churn_stream.yaml"), []byte(body), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg := config.Config{Home: home, HTTPAddr: "127.0.0.1:0"}
	p, err := platform.Open(cfg, (&app{cfg: cfg}).logger(io.Discard))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, platform.RunOptions{Workers: pipeline.Workers, Ledger: true}) }()
	b.Cleanup(func() { cancel(); <-done; p.Close() })
	addr, err := waitHTTP(ctx, p)
	if err != nil {
		b.Fatal(err)
	}
	pl, err := p.Pipelines.Get("churn_stream")
	if err != nil {
		b.Fatal(err)
	}
	if got, _ := pl.Batching(); got.MaxRecords != maxRecords {
		b.Fatalf("max_records %d, want %d", got.MaxRecords, maxRecords)
	}
	return p, newStreamClient(addr), pl
}

// paced posts records at rate records per second (in requests of up to
// 250 records, one at a time), or as fast as streamClients clients can.
func paced(ctx context.Context, c *streamClient, pl *pipeline.Pipeline, records []json.RawMessage, rate int) (streamed, error) {
	if rate <= 0 {
		return feedStream(ctx, c, pl, records, streamRequestRecords, streamClients)
	}
	per := max(rate/20, 1) // 20 requests a second
	out := streamed{PostedAt: map[string]time.Time{}, Start: time.Now()}
	b, _ := pl.Batching()
	tick := time.NewTicker(time.Second / time.Duration(rate/per))
	defer tick.Stop()
	for start := 0; start < len(records); start += per {
		<-tick.C
		chunk := records[start:min(start+per, len(records))]
		sent := time.Now()
		n, err := c.post(ctx, pl.Name, chunk)
		if err != nil {
			return out, err
		}
		out.Posted += n
		out.Requests++
		for _, r := range chunk {
			var fields map[string]json.RawMessage
			json.Unmarshal(r, &fields)
			out.PostedAt[string(fields[b.IDField])] = sent
		}
	}
	out.PostTook = time.Since(out.Start)
	return out, nil
}

// BenchmarkStream posts the churn sample's records to a fresh home per
// micro-batch size and reports the POST rate, the end-to-end rate (first
// POST to the last row in the warehouse) and the POST-to-warehouse
// latency of every record, from the run ledger.
func BenchmarkStream(b *testing.B) {
	records, err := sample.ChurnRecords(*streamRecords, sample.DefaultSeed)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range strings.Split(*streamSizes, ",") {
		size, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("max_records=%d", size), func(b *testing.B) {
			p, c, pl := benchPlatform(b, size)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			defer cancel()
			b.ResetTimer()
			fed, err := paced(ctx, c, pl, records, *streamRate)
			if err != nil {
				b.Fatal(err)
			}
			runs, err := waitStreamRuns(ctx, p, pl, int64(len(fed.PostedAt)))
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			lat, err := postToWarehouse(ctx, p.Lake, runs.Runs, "customer_id", fed.PostedAt)
			if err != nil {
				b.Fatal(err)
			}
			last := fed.Start
			for _, r := range runs.Runs {
				if at := loadedAt(r); at.After(last) {
					last = at
				}
			}
			b.ReportMetric(float64(len(runs.Runs)), "batches")
			b.ReportMetric(float64(fed.Posted)/fed.PostTook.Seconds(), "post_records/s")
			b.ReportMetric(float64(fed.Posted)/last.Sub(fed.Start).Seconds(), "e2e_records/s")
			b.ReportMetric(ms(percentile(lat, 50)), "p50_ms")
			b.ReportMetric(ms(percentile(lat, 99)), "p99_ms")
		})
	}
}

// BenchmarkRealtimeScoring scores records one by one over HTTP and reports
// the p50 and p99 the inference worker measured (request to answer) and
// those the client saw.
func BenchmarkRealtimeScoring(b *testing.B) {
	p, c, pl := benchPlatform(b, 1000)
	_ = p
	records, err := sample.ChurnRecords(*streamScores, 11)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.score(ctx, pl.Name, records[0]); err != nil { // prepares the statements
		b.Fatal(err)
	}
	b.ResetTimer()
	var client []time.Duration
	for _, r := range records {
		start := time.Now()
		_, err := c.score(ctx, pl.Name, r)
		if err != nil && !strings.Contains(err.Error(), "keeps no row") {
			b.Fatal(err)
		}
		client = append(client, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(client, func(i, j int) bool { return client[i] < client[j] })
	l, err := c.latency(ctx, pl.Name)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(l.Count), "scored")
	b.ReportMetric(l.P50MS, "server_p50_ms")
	b.ReportMetric(l.P99MS, "server_p99_ms")
	b.ReportMetric(ms(percentile(client, 50)), "client_p50_ms")
	b.ReportMetric(ms(percentile(client, 99)), "client_p99_ms")
	b.ReportMetric(float64(len(records))/b.Elapsed().Seconds(), "scores/s")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
