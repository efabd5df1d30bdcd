package warehousetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

const layerChildEnv = "FUSION_WAREHOUSETEST_LAYER_CHILD" // dir|schema|view|file|run

// RunLayers is the conformance suite of the sinks that serve Lambda layers
// (warehouse.Layer): the serving view before any batch, after a batch
// recompute, after more speed rows, after a second recompute; keyed views;
// a watermark that only moves forward and commits with the batch table.
func RunLayers(t *testing.T, open Factory) {
	if v, ok := os.LookupEnv(layerChildEnv); ok {
		layerCrashChild(t, open, v)
		return
	}
	env := Env{Dir: t.TempDir(), Schema: "fusion_layers_" + randomHex(4)}
	s := &suite{open: open, env: env, n: new(int)}
	t.Run("view_through_two_recomputes", s.layersLifecycle)
	t.Run("keys_let_newer_speed_rows_override_the_batch", s.layersKeyed)
	t.Run("watermark_only_moves_forward", s.layersForward)
	t.Run("failure_after_replacing_keeps_old_table_and_watermark", s.layersFailure)
	t.Run("crash_mid_batch_keeps_old_table_and_watermark", s.layersCrash)
	t.Run("concurrent_layer_loads_count_each_row_once", s.layersConcurrent)
}

// layer is a fresh view with its two tables in the suite's schema.
func (s *suite) layer(keys ...string) *warehouse.Layer {
	*s.n++
	p := fmt.Sprintf("%s.clicks%d_", s.env.Schema, *s.n)
	return &warehouse.Layer{View: p + "serving", Batch: p + "batch", Speed: p + "speed", Time: "event_time", Keys: keys}
}

// events is a Parquet file of click events i in [from, to): event i
// happens i minutes after midnight and is worth i.
func (s *suite) events(t *testing.T, from, to int) string {
	return s.parquet(t, fmt.Sprintf(`SELECT i::BIGINT AS id, 'u' || (i %% 3) AS user_id,
		TIMESTAMP '2026-11-21 00:00:00' + i * INTERVAL 1 MINUTE AS event_time, i::BIGINT AS v FROM range(%d, %d) t(i)`, from, to))
}

// layerLoad loads a file as one layer of l.
func (s *suite) layerLoad(t *testing.T, w warehouse.Warehouse, l *warehouse.Layer, layer, file string) (warehouse.LoadRequest, warehouse.Result) {
	t.Helper()
	lay := *l
	lay.Name = layer
	req := s.request(t, lay.Speed, pipeline.ModeAppend, nil, file)
	if len(lay.Keys) > 0 {
		req.Mode, req.Keys = pipeline.ModeMerge, lay.Keys
	}
	if layer == messages.LayerBatch {
		req.Table, req.Mode = lay.Batch, pipeline.ModeReplace
	}
	req.Layer = &lay
	return req, load(t, w, req)
}

// view reports the view's rows, distinct ids and sum of values:
// "rows/ids/sum".
func view(t *testing.T, w warehouse.Warehouse, l *warehouse.Layer) string {
	t.Helper()
	return scalar(t, w, fmt.Sprintf("SELECT CAST(count(*) AS VARCHAR) || '/' || CAST(count(DISTINCT id) AS VARCHAR) || '/' || CAST(coalesce(sum(v), 0) AS VARCHAR) FROM %s", q(l.View)))
}

func count(t *testing.T, w warehouse.Warehouse, table string) string {
	t.Helper()
	return scalar(t, w, "SELECT count(*) FROM "+q(table))
}

// mark is the view's watermark, "none" without one.
func mark(t *testing.T, w warehouse.Warehouse, l *warehouse.Layer) string {
	t.Helper()
	return scalar(t, w, fmt.Sprintf("SELECT coalesce(max(watermark), 'none') FROM %s WHERE view_name = %s",
		q(l.Watermarks()), engine.QuoteString(l.View)))
}

// sum of i over [from, to).
func sum(from, to int) int { return (to - 1 + from) * (to - from) / 2 }

func (s *suite) layersLifecycle(t *testing.T) {
	w := s.open(t, s.env, warehouse.Hooks{})
	l := s.layer()

	// Before any batch the view is the speed table alone.
	s.layerLoad(t, w, l, messages.LayerSpeed, s.events(t, 1, 11))
	if got, want := view(t, w, l), fmt.Sprintf("10/10/%d", sum(1, 11)); got != want {
		t.Errorf("before any batch: view %s, want %s", got, want)
	}
	if got := count(t, w, l.Batch); got != "0" {
		t.Errorf("the batch table holds %s rows before any batch, want an empty table", got)
	}
	if got := mark(t, w, l); got != "none" {
		t.Errorf("watermark %s before any batch", got)
	}

	// A recompute over the history up to event 6: events 1-6 are in both
	// layers and count once; 7-10 come from the speed layer.
	req, res := s.layerLoad(t, w, l, messages.LayerBatch, s.events(t, 1, 7))
	if !res.Applied || res.Rows != 6 {
		t.Errorf("batch load: %+v, want 6 rows applied", res)
	}
	if got, want := view(t, w, l), fmt.Sprintf("10/10/%d", sum(1, 11)); got != want {
		t.Errorf("after the first recompute: view %s, want %s (no event twice)", got, want)
	}
	if got := mark(t, w, l); got != "2026-11-21 00:06:00" {
		t.Errorf("watermark %s, want 2026-11-21 00:06:00", got)
	}
	if got := count(t, w, l.Speed); got != "4" {
		t.Errorf("speed table holds %s rows, want the 4 past the watermark (the rest pruned)", got)
	}
	if res := load(t, w, req); res.Applied {
		t.Errorf("redelivered batch load applied again: %+v", res)
	}

	// More speed rows past the watermark count; a late one (event 3 again,
	// as id 100 at minute 3) waits for the next recompute.
	s.layerLoad(t, w, l, messages.LayerSpeed, s.events(t, 11, 16))
	s.layerLoad(t, w, l, messages.LayerSpeed, s.parquet(t, `SELECT 100::BIGINT AS id, 'u1' AS user_id,
		TIMESTAMP '2026-11-21 00:03:00' AS event_time, 100::BIGINT AS v`))
	if got, want := view(t, w, l), fmt.Sprintf("15/15/%d", sum(1, 16)); got != want {
		t.Errorf("after more speed rows: view %s, want %s (the late row hidden)", got, want)
	}

	// The second recompute over the whole history, the late row included.
	late := s.parquet(t, fmt.Sprintf(`SELECT * FROM %s UNION ALL SELECT 100::BIGINT, 'u1', TIMESTAMP '2026-11-21 00:03:00', 100::BIGINT`,
		engine.ReadParquet(s.events(t, 1, 16))))
	s.layerLoad(t, w, l, messages.LayerBatch, late)
	if got, want := view(t, w, l), fmt.Sprintf("16/16/%d", sum(1, 16)+100); got != want {
		t.Errorf("after the second recompute: view %s, want %s", got, want)
	}
	if got := mark(t, w, l); got != "2026-11-21 00:15:00" {
		t.Errorf("watermark %s, want 2026-11-21 00:15:00", got)
	}
	if got := count(t, w, l.Speed); got != "0" {
		t.Errorf("speed table holds %s rows, want none (all at or before the watermark)", got)
	}
	s.layerLoad(t, w, l, messages.LayerSpeed, s.events(t, 16, 18))
	if got, want := view(t, w, l), fmt.Sprintf("18/18/%d", sum(1, 18)+100); got != want {
		t.Errorf("after speed rows past the second watermark: view %s, want %s", got, want)
	}
}

func (s *suite) layersKeyed(t *testing.T) {
	w := s.open(t, s.env, warehouse.Hooks{})
	l := s.layer("id")
	s.layerLoad(t, w, l, messages.LayerBatch, s.events(t, 1, 6)) // watermark minute 5
	// Speed rows: id 2 again, newer (minute 7, worth 1000), and id 6 new;
	// id 4 again but at minute 4 (not past the watermark: hidden).
	s.layerLoad(t, w, l, messages.LayerSpeed, s.parquet(t, `SELECT * FROM (VALUES
		(2::BIGINT, 'u2', TIMESTAMP '2026-11-21 00:07:00', 1000::BIGINT),
		(6, 'u0', TIMESTAMP '2026-11-21 00:06:00', 6),
		(4, 'u1', TIMESTAMP '2026-11-21 00:04:00', 4000)) v(id, user_id, event_time, v)`))
	if got, want := view(t, w, l), fmt.Sprintf("6/6/%d", 1+1000+3+4+5+6); got != want {
		t.Errorf("keyed view %s, want %s (id 2 from the speed layer, id 4 from the batch)", got, want)
	}
	// Merged by key: the same id again replaces the speed row.
	s.layerLoad(t, w, l, messages.LayerSpeed, s.parquet(t, `SELECT 2::BIGINT AS id, 'u2' AS user_id, TIMESTAMP '2026-11-21 00:08:00' AS event_time, 2000::BIGINT AS v`))
	if got, want := view(t, w, l), fmt.Sprintf("6/6/%d", 1+2000+3+4+5+6); got != want {
		t.Errorf("after a newer speed row: view %s, want %s", got, want)
	}
}

func (s *suite) layersForward(t *testing.T) {
	w := s.open(t, s.env, warehouse.Hooks{})
	l := s.layer()
	s.layerLoad(t, w, l, messages.LayerSpeed, s.events(t, 1, 21))
	s.layerLoad(t, w, l, messages.LayerBatch, s.events(t, 1, 16))
	before := view(t, w, l)
	// A recompute over less history (an older one, finishing late) and an
	// empty one change nothing.
	for _, file := range []string{s.events(t, 1, 11), s.events(t, 0, 0)} {
		if _, res := s.layerLoad(t, w, l, messages.LayerBatch, file); !res.Applied || res.Rows != 0 {
			t.Errorf("stale recompute: %+v, want applied with 0 rows", res)
		}
		if got := mark(t, w, l); got != "2026-11-21 00:15:00" {
			t.Errorf("watermark moved back to %s", got)
		}
		if got := count(t, w, l.Batch); got != "15" {
			t.Errorf("batch table holds %s rows after a stale recompute, want 15", got)
		}
		if got := view(t, w, l); got != before {
			t.Errorf("view %s after a stale recompute, want %s", got, before)
		}
	}
	// A recompute at the same watermark is applied.
	if _, res := s.layerLoad(t, w, l, messages.LayerBatch, s.events(t, 5, 16)); !res.Applied || res.Rows != 11 {
		t.Errorf("recompute at the watermark: %+v, want 11 rows", res)
	}
	if got, want := view(t, w, l), fmt.Sprintf("16/16/%d", sum(5, 21)); got != want {
		t.Errorf("view %s, want %s", got, want)
	}
}

// layersFailure fails a batch load after it replaced the table and wrote
// the watermark: the speed table it would prune lacks the time column.
// Nothing of it may show.
func (s *suite) layersFailure(t *testing.T) {
	w := s.open(t, s.env, warehouse.Hooks{})
	l := s.layer()
	s.layerLoad(t, w, l, messages.LayerSpeed, s.events(t, 1, 11))
	s.layerLoad(t, w, l, messages.LayerBatch, s.events(t, 1, 6))
	bad := *l
	bad.Speed = s.table("no_time")
	load(t, w, s.request(t, bad.Speed, pipeline.ModeAppend, nil, s.parquet(t, "SELECT 1::BIGINT AS id, 1::BIGINT AS v")))
	bad.Name = messages.LayerBatch
	req := s.request(t, l.Batch, pipeline.ModeReplace, nil, s.events(t, 1, 9))
	req.Layer = &bad
	if _, err := w.Load(context.Background(), req); !errors.Is(err, warehouse.ErrIncompatible) || !strings.Contains(err.Error(), "event_time") {
		t.Fatalf("got %v, want the load refused naming event_time", err)
	}
	if got := mark(t, w, l); got != "2026-11-21 00:05:00" {
		t.Errorf("watermark %s after the failed load, want the old 2026-11-21 00:05:00", got)
	}
	if got := count(t, w, l.Batch); got != "5" {
		t.Errorf("batch table holds %s rows after the failed load, want the old 5", got)
	}
	if got, want := view(t, w, l), fmt.Sprintf("10/10/%d", sum(1, 11)); got != want {
		t.Errorf("view %s, want %s", got, want)
	}
}

// layersCrash kills a child process in the middle of a batch load (its
// rows staged), then redelivers the load.
func (s *suite) layersCrash(t *testing.T) {
	w := s.open(t, s.env, warehouse.Hooks{})
	l := s.layer()
	s.layerLoad(t, w, l, messages.LayerSpeed, s.events(t, 1, 11))
	s.layerLoad(t, w, l, messages.LayerBatch, s.events(t, 1, 4))
	file := s.events(t, 1, 9)
	*s.n++
	run := fmt.Sprintf("20261121-130000-%06d", *s.n)

	top := strings.SplitN(t.Name(), "/", 2)[0]
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(top)+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), layerChildEnv+"="+strings.Join([]string{s.env.Dir, s.env.Schema, l.View, file, run}, "|"))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != crashExit {
		t.Fatalf("child did not crash mid-load (%v):\n%s", err, out)
	}

	w = s.open(t, s.env, warehouse.Hooks{})
	if got := mark(t, w, l); got != "2026-11-21 00:03:00" {
		t.Errorf("watermark %s after the crash, want the old 2026-11-21 00:03:00", got)
	}
	if got := count(t, w, l.Batch); got != "3" {
		t.Errorf("batch table holds %s rows after the crash, want the old 3", got)
	}
	req := layerChildRequest(t, s, l, file, run)
	if res := load(t, w, req); !res.Applied || res.Rows != 8 {
		t.Errorf("redelivery: %+v, want 8 rows applied", res)
	}
	if got := mark(t, w, l); got != "2026-11-21 00:08:00" {
		t.Errorf("watermark %s after the redelivery, want 2026-11-21 00:08:00", got)
	}
	if got, want := view(t, w, l), fmt.Sprintf("10/10/%d", sum(1, 11)); got != want {
		t.Errorf("view %s, want %s", got, want)
	}
}

// layersConcurrent loads speed files and batch recomputes of one view at
// once: none may wait forever on another (the batch prunes the speed
// table while speed loads write it), and the view ends with every event
// once.
func (s *suite) layersConcurrent(t *testing.T) {
	w := s.open(t, s.env, warehouse.Hooks{})
	l := s.layer("id")
	var reqs []warehouse.LoadRequest
	for i := 0; i < 6; i++ {
		lay := *l
		lay.Name = messages.LayerSpeed
		req := s.request(t, l.Speed, pipeline.ModeMerge, l.Keys, s.events(t, i*50, i*50+50))
		req.Layer = &lay
		reqs = append(reqs, req)
		if i%2 == 1 { // a recompute over the history so far
			lay := *l
			lay.Name = messages.LayerBatch
			req := s.request(t, l.Batch, pipeline.ModeReplace, nil, s.events(t, 0, i*50))
			req.Layer = &lay
			reqs = append(reqs, req)
		}
	}
	errs := make(chan error, len(reqs))
	for _, req := range reqs {
		go func() {
			_, err := w.Load(context.Background(), req)
			errs <- err
		}()
	}
	for range reqs {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got, want := view(t, w, l), fmt.Sprintf("300/300/%d", sum(0, 300)); got != want {
		t.Errorf("view %s, want %s", got, want)
	}
}

// layerChildRequest is the batch load the crash child and its parent make.
func layerChildRequest(t *testing.T, s *suite, l *warehouse.Layer, file, run string) warehouse.LoadRequest {
	lay := *l
	lay.Name = messages.LayerBatch
	req := s.request(t, lay.Batch, pipeline.ModeReplace, nil, file)
	req.RunID, req.LoadID, req.Layer = run, warehouse.LoadID(run, "p.curated", 0), &lay
	return req
}

// layerCrashChild loads and exits inside the AfterStage hook, as a killed
// worker would.
func layerCrashChild(t *testing.T, open Factory, v string) {
	p := strings.Split(v, "|")
	if len(p) != 5 {
		t.Fatalf("%s=%q", layerChildEnv, v)
	}
	env := Env{Dir: p[0], Schema: p[1]}
	s := &suite{env: env, n: new(int)}
	base := strings.TrimSuffix(p[2], "serving")
	l := &warehouse.Layer{View: p[2], Batch: base + "batch", Speed: base + "speed", Time: "event_time"}
	req := layerChildRequest(t, s, l, p[3], p[4])
	w := open(t, env, warehouse.Hooks{AfterStage: func(string) error {
		os.Exit(crashExit)
		return nil
	}})
	_, err := w.Load(context.Background(), req)
	fmt.Fprintf(os.Stderr, "load returned %v without reaching the hook\n", err)
	os.Exit(noCrashExit)
}
