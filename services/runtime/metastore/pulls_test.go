package metastore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/services/runtime/catalog"
)

func str(s string) *string { return &s }

func val(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// TestPullsFixRangesAndMoveTheBookmarkOnce walks the pull state through
// three runs, a redelivery, a concurrent request, a late finish and a
// failure.
func TestPullsFixRangesAndMoveTheBookmarkOnce(t *testing.T) {
	s, ctx := open(t), context.Background()
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	const src, lease = "postgres:crm/orders#updated_at", time.Minute
	start := func(run, high string, at time.Time) (catalog.Pull, error) {
		var h *string
		if high != "" {
			h = str(high)
		}
		return s.StartPull(ctx, catalog.Pull{RunID: run, Pipeline: "orders", Source: src, High: h, StartedAt: at}, lease)
	}
	bookmark := func() string {
		b, err := s.Bookmark(ctx, "orders", src)
		if err != nil {
			t.Fatal(err)
		}
		return val(b)
	}
	if _, err := s.Pull(ctx, "r1"); !errors.Is(err, catalog.ErrNoPull) {
		t.Fatalf("unknown run: %v", err)
	}

	// Run 1: from the start to 10.
	p1, err := start("r1", "10", t0)
	if err != nil || p1.Low != nil || val(p1.High) != "10" || p1.Status != catalog.PullRunning {
		t.Fatalf("r1: %+v %v", p1, err)
	}
	// While r1 runs, another run of the pipeline must wait; another pipeline need not.
	if _, err := start("r2", "12", t0.Add(time.Second)); !errors.Is(err, catalog.ErrPullBusy) || !strings.Contains(err.Error(), "run r1") {
		t.Fatalf("concurrent run: %v", err)
	}
	if _, err := s.StartPull(ctx, catalog.Pull{RunID: "x1", Pipeline: "other", Source: src, High: str("1"), StartedAt: t0}, lease); err != nil {
		t.Fatal(err)
	}
	// A redelivery of r1, after the table grew, keeps r1's range.
	again, err := start("r1", "99", t0.Add(2*time.Second))
	if err != nil || again.Low != nil || val(again.High) != "10" {
		t.Fatalf("redelivered r1: %+v %v", again, err)
	}
	if bookmark() != "<nil>" {
		t.Fatal("the bookmark moved before the pull finished")
	}
	for range 2 { // finished twice: moved once
		if err := s.FinishPull(ctx, "r1", 5, t0.Add(3*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if bookmark() != "10" {
		t.Fatalf("bookmark %s after r1", bookmark())
	}

	// Run 2: (10, 12].
	p2, err := start("r2", "12", t0.Add(4*time.Second))
	if err != nil || val(p2.Low) != "10" || val(p2.High) != "12" {
		t.Fatalf("r2: %+v %v", p2, err)
	}
	if err := s.FinishPull(ctx, "r2", 2, t0.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	// A late redelivery of r1 neither re-fixes its range nor moves the bookmark back.
	if p, err := start("r1", "50", t0.Add(6*time.Second)); err != nil || val(p.High) != "10" || p.Status != catalog.PullDone {
		t.Fatalf("late r1: %+v %v", p, err)
	}
	if err := s.FinishPull(ctx, "r1", 5, t0.Add(6*time.Second)); err != nil || bookmark() != "12" {
		t.Fatalf("late finish: bookmark %s, %v", bookmark(), err)
	}

	// Run 3 finds nothing new: done with 0 rows, the bookmark stays.
	if p, err := start("r3", "12", t0.Add(7*time.Second)); err != nil || val(p.Low) != "12" {
		t.Fatalf("r3: %+v %v", p, err)
	}
	if err := s.FinishPull(ctx, "r3", 0, t0.Add(8*time.Second)); err != nil || bookmark() != "12" {
		t.Fatalf("empty r3: bookmark %s, %v", bookmark(), err)
	}

	// Run 4 fails for good: it releases the pipeline, and run 5 starts from the same bookmark.
	if _, err := start("r4", "20", t0.Add(9*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.FailPull(ctx, "r4", t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	p5, err := start("r5", "21", t0.Add(11*time.Second))
	if err != nil || val(p5.Low) != "12" {
		t.Fatalf("r5 after a failed run: %+v %v", p5, err)
	}
	// r5's handler goes silent (a crash): after the lease, r6 may start.
	if _, err := start("r6", "22", t0.Add(11*time.Second+lease/2)); !errors.Is(err, catalog.ErrPullBusy) {
		t.Fatalf("within the lease: %v", err)
	}
	if err := s.TouchPull(ctx, "r5", t0.Add(40*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := start("r6", "22", t0.Add(40*time.Second+lease-time.Second)); !errors.Is(err, catalog.ErrPullBusy) {
		t.Fatalf("touched within the lease: %v", err)
	}
	if p6, err := start("r6", "22", t0.Add(41*time.Second+lease)); err != nil || val(p6.Low) != "12" {
		t.Fatalf("after the lease: %+v %v", p6, err)
	}

	// Another source of the same pipeline has its own bookmark.
	if b, _ := s.Bookmark(ctx, "orders", "postgres:crm/orders#id"); b != nil {
		t.Errorf("bookmark of another source: %s", *b)
	}
}

// A pull without a bookmark (a full copy) has no range and sets none.
func TestFullPullsKeepNoBookmark(t *testing.T) {
	s, ctx := open(t), context.Background()
	p, err := s.StartPull(ctx, catalog.Pull{RunID: "r1", Pipeline: "orders", Source: "postgres:crm/orders"}, time.Minute)
	if err != nil || p.Low != nil || p.High != nil {
		t.Fatalf("%+v %v", p, err)
	}
	if err := s.FinishPull(ctx, "r1", 100, time.Now()); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Bookmark(ctx, "orders", "postgres:crm/orders"); b != nil {
		t.Errorf("bookmark %s", *b)
	}
	if got, _ := s.Pull(ctx, "r1"); got.Status != catalog.PullDone || got.Rows != 100 {
		t.Errorf("%+v", got)
	}
}
