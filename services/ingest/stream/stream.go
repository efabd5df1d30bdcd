// Package stream is the ingest worker's streaming: small JSON records
// arrive on its HTTP endpoint (POST /v1/streams/{pipeline}/records, http.go)
// or directly as fusion.stream.records.v1 events on the bus; the rules
// route them to the stream queue, whose micro-batcher (batcher.go) gathers
// each pipeline's records and seals them, by count, bytes or wait, into
// one JSON-lines object under <source.prefix>stream/. From there a
// micro-batch is a landed file like any other: ingest, transform,
// [inference], load, with the run ledger, retries and dedup.
package stream

import (
	"fmt"
	"time"

	"github.com/fusiondata/fusion/services/runtime/worker"
)

// Attach returns the ingest worker's Attach: the records endpoint and the
// micro-batcher, on the process's host.
func Attach(d worker.Deps) func(*worker.Host) error {
	return func(h *worker.Host) error {
		if h.Batches == nil || h.Bus == nil {
			return fmt.Errorf("streaming needs the bus and batch receives of the stream queue")
		}
		if d.Now == nil {
			d.Now = time.Now
		}
		m, err := NewMetrics(h.Meter)
		if err != nil {
			return err
		}
		tracer := h.Tracer.Tracer("github.com/fusiondata/fusion/ingest/stream")
		h.Handle(RecordsPattern, &Endpoint{Pipelines: d.Pipelines, Bus: h.Bus, Tracer: tracer, Now: d.Now})
		b := &Batcher{Lake: d.Lake, Pipelines: d.Pipelines, Receiver: h.Batches, Announce: h.Announce, DeadLetters: h.DeadLetters,
			Log: h.Log, Now: d.Now, Metrics: m, Tracer: tracer}
		h.Go(b.Run)
		return nil
	}
}
