package precondition

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/services/runtime/lake/fslake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/warehouse/duckwh"
)

func newChecker(t *testing.T) *Checker {
	t.Helper()
	dir := t.TempDir()
	l, err := fslake.Open(filepath.Join(dir, "lake"), "fusion-lake")
	if err != nil {
		t.Fatal(err)
	}
	return &Checker{Lake: l, Warehouse: warehouse.Traced(duckwh.New(filepath.Join(dir, "wh.duckdb"), duckwh.Options{})), Dir: dir,
		Env: []string{"FUSION_RUN_ID=20261121-151600-3fa9c2"}}
}

func (c *Checker) put(t *testing.T, key, body string) {
	t.Helper()
	if _, err := c.Lake.Put(context.Background(), key, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
}

func (c *Checker) exec(t *testing.T, stmt string) {
	t.Helper()
	if _, err := warehouse.Exec(context.Background(), c.Warehouse, stmt); err != nil {
		t.Fatal(err)
	}
}

// Each kind, before and after what it waits for is there, against the
// real lake and DuckDB warehouse.
func TestCheckEachKind(t *testing.T) {
	c := newChecker(t)
	ctx := context.Background()
	objectExists := pipeline.Precondition{ObjectExists: "landing/sales/_SUCCESS"}
	prefix := pipeline.Precondition{PrefixNotEmpty: "incoming/sales/"}
	table := pipeline.Precondition{TableExists: "sales_daily"}
	rows := pipeline.Precondition{TableHasRows: &pipeline.TableRows{Table: "sales_daily", Where: "day = DATE '2026-11-21'"}}
	anyRow := pipeline.Precondition{TableHasRows: &pipeline.TableRows{Table: "sales_daily"}}
	cmd := pipeline.Precondition{Shell: `test "$FUSION_RUN_ID" = 20261121-151600-3fa9c2 && test -s ready`}
	for _, s := range []struct {
		pc   pipeline.Precondition
		want Observation
	}{
		{objectExists, Observation{Saw: "not found"}},
		{prefix, Observation{Saw: "empty"}},
		{table, Observation{Saw: "no such table"}},
		{rows, Observation{Saw: "no such table"}},
		{cmd, Observation{Saw: "command exited with status 1"}},
	} {
		if got := c.Check(ctx, s.pc); got != s.want {
			t.Errorf("%s %s before: %+v, want %+v", s.pc.Kind(), s.pc.Subject(), got, s.want)
		}
	}
	c.put(t, "landing/sales/_SUCCESS", "ok")
	c.put(t, "incoming/sales/a/2026-11-21.csv", "day\n")
	c.exec(t, "CREATE TABLE sales_daily (day DATE, total DOUBLE)")
	if got := c.Check(ctx, anyRow); got != (Observation{Saw: "the table is empty"}) {
		t.Errorf("empty table: %+v", got)
	}
	c.exec(t, "INSERT INTO sales_daily VALUES (DATE '2026-11-20', 1)")
	if got := c.Check(ctx, rows); got != (Observation{Saw: "no row matches"}) {
		t.Errorf("no matching row: %+v", got)
	}
	c.exec(t, "INSERT INTO sales_daily VALUES (DATE '2026-11-21', 2)")
	os.WriteFile(filepath.Join(c.Dir, "ready"), []byte("yes"), 0o644)
	for _, s := range []struct {
		pc  pipeline.Precondition
		saw string
	}{
		{objectExists, "found (2 bytes)"}, {prefix, "1 objects"}, {table, "exists"}, {rows, "a row matches"}, {anyRow, "a row matches"}, {cmd, "exit status 0"},
	} {
		if got := c.Check(ctx, s.pc); !got.Held || got.Saw != s.saw {
			t.Errorf("%s %s after: %+v, want held, %q", s.pc.Kind(), s.pc.Subject(), got, s.saw)
		}
	}
	// A predicate that does not fit the table never holds, and says why.
	bad := pipeline.Precondition{TableHasRows: &pipeline.TableRows{Table: "sales_daily", Where: "region = 'EU'"}}
	if got := c.Check(ctx, bad); got.Held || !strings.HasPrefix(got.Saw, "error: ") || !strings.Contains(got.Saw, "region") {
		t.Errorf("a bad predicate: %+v", got)
	}
}

// fakeClock advances only when Wait sleeps, so the count of checks is exact.
type fakeClock struct{ t time.Time }

func (f *fakeClock) now() time.Time { return f.t }
func (f *fakeClock) sleep(_ context.Context, d time.Duration) error {
	f.t = f.t.Add(d)
	return nil
}

// The failure names the precondition, how long and how often it was
// checked and what the last check saw.
func TestFailureText(t *testing.T) {
	c := newChecker(t)
	clock := &fakeClock{t: time.Now()}
	c.Now, c.Sleep = clock.now, clock.sleep
	checks, err := c.Wait(context.Background(), pipeline.Precondition{ObjectExists: "landing/x/_SUCCESS", Timeout: "10m", RetryEvery: "30s"})
	var nh *NotHeldError
	if !errors.As(err, &nh) || checks != 21 {
		t.Fatalf("%d checks, %v", checks, err)
	}
	if want := "precondition object_exists landing/x/_SUCCESS did not hold within 10m0s (21 checks, every 30s; last: not found)"; err.Error() != want {
		t.Errorf("error\n %q\nwant %q", err, want)
	}
	// The last check falls on the timeout, even when it is not a multiple
	// of the interval: 0s, 40s, 80s, 100s.
	clock.t = time.Now()
	checks, err = c.Wait(context.Background(), pipeline.Precondition{TableExists: "nope", Timeout: "100s", RetryEvery: "40s"})
	if want := "precondition table_exists nope did not hold within 1m40s (4 checks, every 40s; last: no such table)"; checks != 4 || err == nil || err.Error() != want {
		t.Errorf("%d checks, %v", checks, err)
	}
}

// A precondition that comes true while the step waits lets it go on.
func TestWaitUntilItHolds(t *testing.T) {
	c := newChecker(t)
	// The command counts its runs and succeeds on the third.
	pc := pipeline.Precondition{Shell: `n=$(($(cat runs 2>/dev/null || echo 0) + 1)); echo $n > runs; [ $n -ge 3 ]`, Timeout: "1m", RetryEvery: "10ms"}
	checks, err := c.Wait(context.Background(), pc)
	if err != nil || checks != 3 {
		t.Errorf("%d checks, %v", checks, err)
	}
}

// Cancelling the wait (the worker shutting down) ends it at once, with
// the context's error: the message goes back to its queue.
func TestWaitIsCancelled(t *testing.T) {
	c := newChecker(t)
	ctx, cancel := context.WithCancel(context.Background())
	c.Sleep = func(context.Context, time.Duration) error { cancel(); return ctx.Err() }
	_, err := c.Wait(ctx, pipeline.Precondition{ObjectExists: "a/b", Timeout: "1h"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
}
