//go:build faults

package cli

// The faults tier (scripts/test.sh faults). The sample pipeline, plus an
// append-mode table where a load applied twice would show as duplicate
// rows, runs on the embedded tier under injected faults: kill -9 at random
// points, every event delivered three times, events delivered out of
// order, a warehouse that is slow and fails for a while. Each scenario ends
// with every run succeeded, nothing dead-lettered or quarantined, and each
// table holding every expected row exactly once: 0 lost, 0 duplicates.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/fusion/sample"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/metastore"
	"github.com/fusiondata/fusion/services/runtime/platform"
	"github.com/fusiondata/fusion/services/runtime/transport"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/warehouse/duckwh"
)

var faultSeed = flag.Uint64("faults.seed", 0, "seed of the random fault points (0: from the clock)")

// faultRand returns the scenario's random source and logs its seed, so a
// failure can be replayed with -args -faults.seed=N.
func faultRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := *faultSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("fault seed %d (replay: go test -tags faults -run '%s' ./services/fusion/cli -args -faults.seed=%d)", seed, t.Name(), seed)
	return rand.New(rand.NewPCG(seed, seed>>1))
}

// The tables a fault run fills, each with one row per curated customer.
var faultTables = []string{"churn_customers", "churn_predictions"}

// faultHome makes a home whose churn pipeline appends the curated rows
// instead of merging them: a merge hides a load applied twice, an append
// does not.
func faultHome(t *testing.T) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	dir := filepath.Join(home, "pipelines")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pl := strings.Replace(churnPipeline(t, "churn_lgbm"), "table: churn_customers, keys: [customer_id], mode: merge", "table: churn_customers, mode: append", 1)
	if err := os.WriteFile(filepath.Join(dir, "churn.yaml"), []byte(pl), 0o644); err != nil {
		t.Fatal(err)
	}
	return home
}

// faultInput is one sample file and the rows the pipeline must load from it.
type faultInput struct {
	name    string
	body    []byte
	curated int // rows the transform keeps (monthly_fee > 0)
	at      time.Time
}

func (in faultInput) key() string { return "landing/churn/" + in.name }

// faultInputs makes n sample files of different seeds whose customers do
// not overlap (ids offset by a million per file).
func faultInputs(t *testing.T, n, rows int) []faultInput {
	t.Helper()
	base := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	var inputs []faultInput
	for i := range n {
		var raw bytes.Buffer
		if err := sample.Churn(&raw, rows, uint64(i+1)); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(raw.String(), "\n"), "\n")
		var body bytes.Buffer
		body.WriteString(lines[0] + "\n")
		curated := 0
		for _, l := range lines[1:] {
			f := strings.Split(l, ",")
			id, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				t.Fatalf("sample line %q", l)
			}
			f[0] = strconv.FormatInt(id+int64(i)*1_000_000, 10)
			if fee, _ := strconv.ParseFloat(f[4], 64); fee > 0 {
				curated++
			}
			body.WriteString(strings.Join(f, ",") + "\n")
		}
		inputs = append(inputs, faultInput{name: fmt.Sprintf("part-%02d.csv", i), body: body.Bytes(), curated: curated, at: base.Add(time.Duration(i) * time.Second)})
	}
	return inputs
}

// landFile lands an input the way a copy into the landing zone does, whole
// (written aside, then renamed) and with a fixed modification time, so the
// run it starts has the same id in every home.
func landFile(t *testing.T, home string, in faultInput) {
	t.Helper()
	dir := filepath.Join(home, platform.LakeDir, "landing", "churn")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "."+in.name+".tmp")
	if err := os.WriteFile(tmp, in.body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, in.at, in.at); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, in.name)); err != nil {
		t.Fatal(err)
	}
}

// waitAllSucceeded waits until the run of every input has succeeded.
func waitAllSucceeded(t *testing.T, l ledger.Ledger, inputs []faultInput, within time.Duration) []ledger.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	runs := make([]ledger.Run, len(inputs))
	for i, in := range inputs {
		for {
			r, err := l.RunForInput(context.Background(), in.key())
			if err == nil && r.Status == ledger.Succeeded {
				runs[i] = r
				break
			}
			if err == nil && r.Status == ledger.Failed {
				t.Fatalf("the run of %s failed: %+v", in.key(), r)
			}
			if ctx.Err() != nil {
				t.Fatalf("the run of %s did not succeed within %v: %+v %v", in.key(), within, r, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return runs
}

// assertExactlyOnce checks that every table holds each expected row once,
// and that nothing was dead-lettered or quarantined on the way.
func assertExactlyOnce(t *testing.T, home string, wh warehouse.Warehouse, inputs []faultInput) {
	t.Helper()
	want := 0
	for _, in := range inputs {
		want += in.curated
	}
	for _, table := range faultTables {
		got := queryWarehouse(t, wh, "SELECT count(*), count(DISTINCT customer_id) FROM "+table)
		rows, _ := strconv.Atoi(got[0][0])
		distinct, _ := strconv.Atoi(got[0][1])
		if rows != want || distinct != want {
			t.Errorf("%s: %d rows of %d customers; want %d: %d lost, %d duplicates", table, rows, distinct, want, want-distinct, rows-distinct)
		}
	}
	if got := queryWarehouse(t, wh, "SELECT count(*), count(DISTINCT load_id) FROM _fusion_loads"); got[0][0] != got[0][1] || got[0][0] != strconv.Itoa(2*len(inputs)) {
		t.Errorf("load history: %v loads (distinct ids second), want %d", got[0], 2*len(inputs))
	}
	if code, out, _ := fusion(t, "dlq", "list", "--home", home); code != 0 || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("dead letters left:\n%s", out)
	}
	if q, _ := filepath.Glob(filepath.Join(home, platform.LakeDir, "quarantine", "*", "*")); len(q) > 0 {
		t.Errorf("quarantined: %v", q)
	}
}

// snapshot fingerprints every table's contents (but load times).
func snapshot(t *testing.T, wh warehouse.Warehouse) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range append(faultTables, "_fusion_loads") {
		sql := fmt.Sprintf("SELECT count(*), md5(coalesce(string_agg(r, '\n' ORDER BY r), '')) FROM (SELECT CAST(x AS VARCHAR) AS r FROM (SELECT * EXCLUDE (loaded_at) FROM %s) x)", table)
		if table != "_fusion_loads" {
			sql = strings.Replace(sql, " EXCLUDE (loaded_at)", "", 1)
		}
		got := queryWarehouse(t, wh, sql)
		out[table] = got[0][0] + " rows, md5 " + got[0][1]
	}
	return out
}

// The kill -9 scenario's child: the test binary re-run as `fusion run`.
const faultChildHome = "FUSION_FAULTS_CHILD_HOME"

// fusionRun is a `fusion run` process on a home.
type fusionRun struct {
	cmd  *exec.Cmd
	once sync.Once
	err  error
}

func startFusionRun(t *testing.T, home, log string) *fusionRun {
	t.Helper()
	cmd := startChild(t, append(os.Environ(), faultChildHome+"="+home, "FUSION_LANDING_POLL=20ms", "FUSION_RETRIES=3"), log)
	r := &fusionRun{cmd: cmd}
	t.Cleanup(func() { r.stop(syscall.SIGKILL) })
	return r
}

// stop signals the process and reaps it.
func (r *fusionRun) stop(sig syscall.Signal) error {
	r.once.Do(func() {
		r.cmd.Process.Signal(sig)
		r.err = r.cmd.Wait()
	})
	return r.err
}

// runChild runs `fusion run` when this test binary is the child.
func runChild(t *testing.T) {
	home := os.Getenv(faultChildHome)
	if home == "" {
		return
	}
	cfg, err := config.FromEnv(os.Environ())
	os.Exit(Execute(cfg, err, []string{"run", "--home", home}, os.Stdout, os.Stderr))
}

// progress says how far the runs of a home got.
func progress(t *testing.T, home string) string {
	store, err := metastore.Open(filepath.Join(home, platform.MetaFile))
	if err != nil {
		return err.Error()
	}
	defer store.Close()
	runs, err := store.Runs(context.Background(), 100)
	if err != nil {
		return err.Error()
	}
	done, all := 0, 0
	for _, r := range runs {
		for _, s := range r.Steps {
			all++
			if s.Status == ledger.Succeeded {
				done++
			}
		}
	}
	return fmt.Sprintf("%d runs, %d/%d steps done", len(runs), done, all)
}

// TestFaultsKilledAtRandomPoints kills `fusion run` with
// SIGKILL at 20 random points while inputs land and their runs go through
// every step, restarting it each time; the final warehouse must be the one
// an uninterrupted run leaves.
func TestFaultsKilledAtRandomPoints(t *testing.T) {
	runChild(t)
	rng := faultRand(t)
	const kills = 20
	inputs := faultInputs(t, kills, 10000)
	logs := t.TempDir()
	defer func() {
		if t.Failed() {
			for _, f := range must(filepath.Glob(filepath.Join(logs, "*.log"))) {
				b, _ := os.ReadFile(f)
				t.Logf("--- %s (last 4 KiB)\n%s", filepath.Base(f), tail(b, 4096))
			}
		}
	}()

	// The reference: one uninterrupted process.
	ref := faultHome(t)
	start := time.Now()
	r := startFusionRun(t, ref, filepath.Join(logs, "reference.log"))
	for _, in := range inputs {
		landFile(t, ref, in)
	}
	withLedger(t, ref, func(l ledger.Ledger) { waitAllSucceeded(t, l, inputs, 3*time.Minute) })
	uninterrupted := time.Since(start)
	if err := r.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("reference run: %v", err)
	}
	want := snapshot(t, duckwh.New(filepath.Join(ref, platform.WarehouseFile), duckwh.Options{}))
	t.Logf("uninterrupted: %v", uninterrupted.Round(time.Millisecond))

	// The same inputs, one landed after each start, the process killed at
	// a random point within the time two runs take: mid-ingest, mid-load,
	// between a step's work and its events, while starting up...
	home := faultHome(t)
	perRun := uninterrupted / time.Duration(len(inputs))
	for k := range kills {
		r := startFusionRun(t, home, filepath.Join(logs, fmt.Sprintf("kill-%02d.log", k+1)))
		landFile(t, home, inputs[k])
		after := time.Duration(rng.Int64N(int64(2 * perRun)))
		time.Sleep(after)
		r.stop(syscall.SIGKILL)
		t.Logf("kill %2d after %-6v %s", k+1, after.Round(time.Millisecond), progress(t, home))
	}
	r = startFusionRun(t, home, filepath.Join(logs, "final.log"))
	withLedger(t, home, func(l ledger.Ledger) { waitAllSucceeded(t, l, inputs, 3*time.Minute) })
	r.stop(syscall.SIGTERM)

	wh := duckwh.New(filepath.Join(home, platform.WarehouseFile), duckwh.Options{})
	assertExactlyOnce(t, home, wh, inputs)
	got := snapshot(t, wh)
	for table, w := range want {
		if got[table] != w {
			t.Errorf("%s: %s after the kills, %s uninterrupted", table, got[table], w)
		}
	}
}

func withLedger(t *testing.T, home string, fn func(ledger.Ledger)) {
	t.Helper()
	store, err := metastore.Open(filepath.Join(home, platform.MetaFile))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	fn(store)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// faultConfig is the in-process scenarios' configuration.
func faultConfig(home string, retries int) config.Config {
	return config.Config{Home: home, LandingPoll: 20 * time.Millisecond, Retries: retries, Concurrency: 2}
}

// redeliveringBus publishes every event n times, as separate messages: an
// at-least-once transport on a bad day.
type redeliveringBus struct {
	transport.Bus
	n int
}

func (b redeliveringBus) Publish(ctx context.Context, events ...messages.Envelope) error {
	for range b.n {
		if err := b.Bus.Publish(ctx, events...); err != nil {
			return err
		}
	}
	return nil
}

func TestFaultsEveryEventDeliveredThreeTimes(t *testing.T) {
	inputs := faultInputs(t, 3, 5000)
	p := startWith(t, faultConfig(faultHome(t), 3), func(p *platform.Platform) {
		p.Transport.Bus = redeliveringBus{Bus: p.Transport.Bus, n: 3}
	})
	for _, in := range inputs {
		landFile(t, p.Config.Home, in)
	}
	waitAllSucceeded(t, p.Ledger, inputs, 3*time.Minute)
	time.Sleep(time.Second) // let the last copies arrive and be dropped
	assertExactlyOnce(t, p.Config.Home, p.Deps.Warehouse, inputs)
}

// shufflingBus holds published events and delivers them in random order,
// each alone, every interval; now and then it delivers an event it already
// delivered again, late.
type shufflingBus struct {
	inner transport.Bus
	rng   *rand.Rand

	mu        sync.Mutex
	pending   []messages.Envelope
	delivered []messages.Envelope
	reordered atomic.Int64
}

func (b *shufflingBus) Publish(_ context.Context, events ...messages.Envelope) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = append(b.pending, events...)
	return nil
}

func (b *shufflingBus) run(ctx context.Context, t *testing.T, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		b.mu.Lock()
		batch := b.pending
		b.pending = nil
		if len(b.delivered) > 0 && b.rng.IntN(3) == 0 {
			batch = append(batch, b.delivered[b.rng.IntN(len(b.delivered))]) // a late duplicate
		}
		b.rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		b.delivered = append(b.delivered, batch...)
		b.mu.Unlock()
		if len(batch) > 1 {
			b.reordered.Add(1)
		}
		for _, env := range batch {
			if err := b.inner.Publish(ctx, env); err != nil && ctx.Err() == nil {
				t.Errorf("publish %s: %v", env.DetailType, err)
			}
		}
	}
}

func TestFaultsOutOfOrderDelivery(t *testing.T) {
	inputs := faultInputs(t, 6, 3000)
	bus := &shufflingBus{rng: faultRand(t)}
	p := startWith(t, faultConfig(faultHome(t), 3), func(p *platform.Platform) {
		bus.inner = p.Transport.Bus
		p.Transport.Bus = bus
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { bus.run(ctx, t, 300*time.Millisecond); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for _, in := range inputs {
		landFile(t, p.Config.Home, in)
	}
	waitAllSucceeded(t, p.Ledger, inputs, 3*time.Minute)
	time.Sleep(time.Second)
	if bus.reordered.Load() == 0 {
		t.Fatal("no delivery was reordered; the scenario proved nothing")
	}
	t.Logf("%d deliveries reordered, %d events delivered", bus.reordered.Load(), len(bus.delivered))
	assertExactlyOnce(t, p.Config.Home, p.Deps.Warehouse, inputs)
}

// flakyWarehouse is a warehouse that is slow, and fails while it is down:
// half of the failures before the load, half after the load committed (the
// acknowledgement lost), so that the retry meets a load already applied.
type flakyWarehouse struct {
	warehouse.Warehouse
	slow     time.Duration
	mu       sync.Mutex
	downTill time.Time
	before   atomic.Int64
	after    atomic.Int64
}

var errWarehouseDown = errors.New("warehouse unavailable (injected fault)")

func (w *flakyWarehouse) down(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.downTill = time.Now().Add(d)
}

func (w *flakyWarehouse) isDown() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return time.Now().Before(w.downTill)
}

func (w *flakyWarehouse) Load(ctx context.Context, req warehouse.LoadRequest) (warehouse.Result, error) {
	time.Sleep(w.slow)
	if !w.isDown() {
		return w.Warehouse.Load(ctx, req)
	}
	if w.before.Load() <= w.after.Load() {
		w.before.Add(1)
		return warehouse.Result{}, errWarehouseDown
	}
	w.after.Add(1)
	if _, err := w.Warehouse.Load(ctx, req); err != nil {
		return warehouse.Result{}, err
	}
	return warehouse.Result{}, errWarehouseDown
}

// A slow warehouse that fails for a while, within the steps' retries: the
// loads are retried until it is back.
func TestFaultsSlowWarehouseFailingForAWhile(t *testing.T) {
	inputs := faultInputs(t, 3, 5000)
	wh := &flakyWarehouse{slow: 200 * time.Millisecond}
	wh.down(1500 * time.Millisecond)
	p := startWith(t, faultConfig(faultHome(t), 5), func(p *platform.Platform) {
		wh.Warehouse = p.Deps.Warehouse
		p.Deps.Warehouse = wh
	})
	for _, in := range inputs {
		landFile(t, p.Config.Home, in)
	}
	waitAllSucceeded(t, p.Ledger, inputs, 3*time.Minute)
	if wh.before.Load() == 0 || wh.after.Load() == 0 {
		t.Fatalf("the warehouse never failed (%d before, %d after the commit); the scenario proved nothing", wh.before.Load(), wh.after.Load())
	}
	t.Logf("%d loads failed before applying, %d after", wh.before.Load(), wh.after.Load())
	assertExactlyOnce(t, p.Config.Home, wh.Warehouse, inputs)
}

// A warehouse down longer than the retries: the loads are dead-lettered,
// the runs fail and say so; once it is back, a redrive completes them.
func TestFaultsWarehouseDownPastTheRetries(t *testing.T) {
	inputs := faultInputs(t, 3, 5000)
	wh := &flakyWarehouse{}
	wh.down(time.Hour)
	p := startWith(t, faultConfig(faultHome(t), 1), func(p *platform.Platform) {
		wh.Warehouse = p.Deps.Warehouse
		p.Deps.Warehouse = wh
	})
	home := p.Config.Home
	var failed []ledger.Run
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, in := range inputs {
		landFile(t, home, in)
		r, err := waitForRun(ctx, p.Ledger, in.key(), &bytes.Buffer{})
		if err != nil || r.Status != ledger.Failed {
			t.Fatalf("%s: %+v %v", in.key(), r, err)
		}
		failed = append(failed, r)
	}
	// Wait for every load to be dead-lettered (the loads of a run fail
	// apart; the run fails at the first).
	for {
		_, out, _ := fusion(t, "dlq", "list", "--home", home)
		if strings.Count(out, "\n") == 1+2*len(inputs) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("dead letters:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}

	wh.down(0)
	if code, out, errOut := fusion(t, "dlq", "redrive", "--home", home); code != 0 || strings.TrimSpace(out) != fmt.Sprintf("redrove %d dead letters", 2*len(inputs)) {
		t.Fatalf("dlq redrive (%d): %s%s", code, out, errOut)
	}
	for _, r := range failed {
		waitSucceeded(t, p, r.ID)
	}
	assertExactlyOnce(t, home, wh.Warehouse, inputs)
}
