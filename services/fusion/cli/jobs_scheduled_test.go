//go:build jobs

package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/fusion/sample"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/metastore"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
	"github.com/fusiondata/fusion/services/runtime/scheduler"
)

// `fusion demo --pipeline sales_daily` drops a week of till exports,
// fires the schedule once and loads the exact sums per day and store.
func TestJobsScheduledDemo(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	code, out, errOut := fusion(t, "demo", "--pipeline", "sales_daily", "--home", home)
	if code != 0 {
		t.Fatalf("demo exited %d\n%s\n%s\n%s", code, out, errOut, readLog(home))
	}
	for _, want := range []string{"pipeline sales_daily  succeeded", "input incoming/sales/", "ingest        succeeded  9996     9996",
		"transform     succeeded  9996     28", "load.curated  succeeded  28       28"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, `fired schedule "cron(30 2 * * ? *)" (Europe/Paris)`) {
		t.Errorf("no fire reported:\n%s", errOut)
	}
	want := salesAggregates(t, salesDays, sample.DefaultRows/salesDays, sample.DefaultSeed)
	if got := salesTable(t, home); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sales_daily:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(want) != 28 {
		t.Errorf("%d expected rows, want 7 days x 4 stores", len(want))
	}

	// One run, started by the scheduler's request; the snapshot kept every
	// export's bytes in raw and left the exports where they were.
	code, list, _ := fusion(t, "runs", "--home", home)
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if code != 0 || len(lines) != 2 || !strings.Contains(lines[1], "sales_daily") || !strings.Contains(lines[1], "succeeded") {
		t.Fatalf("runs:\n%s", list)
	}
	runID := strings.Fields(lines[1])[0]
	for i := 0; i < salesDays; i++ {
		name := "sales-" + salesWeek.AddDate(0, 0, i).Format("2006-01-02") + ".csv"
		kept, err1 := os.ReadFile(filepath.Join(home, "lake/raw/sales_daily", runID, name))
		src, err2 := os.ReadFile(filepath.Join(home, "lake/incoming/sales", name))
		if err1 != nil || err2 != nil || !bytes.Equal(kept, src) {
			t.Errorf("%s: raw copy %d bytes (%v), source %d bytes (%v)", name, len(kept), err1, len(src), err2)
		}
	}
}

// startLogged is start, with the logs kept for the test to read.
func startLogged(t *testing.T, cfg config.Config, wrap func(*platform.Platform)) (*platform.Platform, *lockedBuffer) {
	t.Helper()
	var logs lockedBuffer
	p, err := platform.Open(cfg, (&app{cfg: cfg}).logger(&logs))
	if err != nil {
		t.Fatal(err)
	}
	wrap(p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, platform.RunOptions{Workers: pipeline.Workers, Ledger: true}) }()
	t.Cleanup(func() {
		cancel()
		<-done
		p.Close()
		if t.Failed() {
			t.Log(logs.String())
		}
	})
	return p, &logs
}

func waitForLog(t *testing.T, logs *lockedBuffer, text string, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for strings.Count(logs.String(), text) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d %q in the logs", strings.Count(logs.String(), text), n, text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A home whose scheduler last fired sales_daily three nights ago starts:
// with missed: catch_up it fires the three nights missed, oldest first,
// each its own run; with skip it fires none. A refire of a night already
// run (a crash between fire and mark) is acknowledged without a run.
func TestJobsScheduledCatchUp(t *testing.T) {
	// The clock of the restarted home: 05:00 UTC, after three missed
	// nights of cron(30 2 * * ? *) in Paris (01:30 UTC in November).
	start := time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)
	nights := []time.Time{
		time.Date(2026, 11, 19, 1, 30, 0, 0, time.UTC),
		time.Date(2026, 11, 20, 1, 30, 0, 0, time.UTC),
		time.Date(2026, 11, 21, 1, 30, 0, 0, time.UTC),
	}
	lastFire := nights[0].AddDate(0, 0, -1)
	def, err := os.ReadFile("../../../deploy/pipelines/sales_daily.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const days, perDay = 3, 40
	for _, missed := range []string{"catch_up", "skip"} {
		t.Run(missed, func(t *testing.T) {
			home := t.TempDir()
			os.MkdirAll(filepath.Join(home, "pipelines"), 0o755)
			body := strings.Replace(string(def), "missed: catch_up", "missed: "+missed, 1)
			if err := os.WriteFile(filepath.Join(home, "pipelines", "sales_daily.yaml"), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			store, err := metastore.Open(filepath.Join(home, platform.MetaFile))
			if err != nil {
				t.Fatal(err)
			}
			if err := store.SetScheduleMark(context.Background(), "sales_daily", lastFire); err != nil {
				t.Fatal(err)
			}
			store.Close()

			began := time.Now()
			p, logs := startLogged(t, config.Config{Home: home, Retries: 1, Concurrency: 2}, func(p *platform.Platform) {
				for i := 0; i < days; i++ {
					day := salesWeek.AddDate(0, 0, i)
					var b bytes.Buffer
					if err := sample.SalesDay(&b, day, perDay, 7); err != nil {
						t.Fatal(err)
					}
					if _, err := p.Lake.Put(context.Background(), salesFile("incoming/sales/", day), &b); err != nil {
						t.Fatal(err)
					}
				}
				p.Deps.Now = func() time.Time { return start.Add(time.Since(began)) }
			})
			ctx := context.Background()

			if missed == "skip" {
				waitForLog(t, logs, "missed fires skipped", 1)
				if !strings.Contains(logs.String(), `"skipped":3`) {
					t.Errorf("the skip count is not logged")
				}
				if runs, err := p.Ledger.Runs(ctx, 100); err != nil || len(runs) != 0 {
					t.Errorf("runs %v %v, want none", runs, err)
				}
				if strings.Contains(logs.String(), "schedule fired") {
					t.Error("a skipped schedule fired")
				}
				checkMark(t, p, nights[2])
				return
			}

			var want []string
			for _, night := range nights {
				rq := scheduler.Request("sales_daily", night)
				env, _ := messages.New(rq, night)
				run := rq.StartRun(env)
				want = append(want, run.RunID)
				if !strings.HasPrefix(run.RunID, night.Format("20060102-150405")+"-") {
					t.Errorf("run %s of the fire due %s", run.RunID, night)
				}
				waitSucceeded(t, p, run.RunID)
			}
			runs, err := p.Ledger.Runs(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range runs {
				got = append(got, r.ID)
				if r.Pipeline != "sales_daily" || r.Input != "incoming/sales/" || r.Status != ledger.Succeeded {
					t.Errorf("run %+v", r)
				}
			}
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("runs %v, want the three nights %v", got, want)
			}
			// Fired oldest first.
			fired := strings.Index(logs.String(), `"due":"`+nights[0].Format(time.RFC3339))
			if fired < 0 || fired > strings.Index(logs.String(), `"due":"`+nights[2].Format(time.RFC3339)) {
				t.Errorf("fires not oldest first:\n%s", logs.String())
			}
			wantRows := salesAggregates(t, days, perDay, 7)
			if got := salesTable(t, home); strings.Join(got, "\n") != strings.Join(wantRows, "\n") {
				t.Errorf("sales_daily:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantRows, "\n"))
			}
			if got := query(t, home, "SELECT count(*) FROM _fusion_loads"); got[0][0] != "3" {
				t.Errorf("loads %v, want one per night", got)
			}
			checkMark(t, p, nights[2])

			// The process died after firing the last night and before its
			// mark moved: the next start fires it again. The same request is
			// the same run, acknowledged as handled: nothing runs twice.
			sched, err := p.Scheduler()
			if err != nil {
				t.Fatal(err)
			}
			pl, _ := p.Pipelines.Get("sales_daily")
			if _, err := sched.Fire(ctx, pl, nights[2]); err != nil {
				t.Fatal(err)
			}
			waitForLog(t, logs, "event already handled", 1)
			if runs, _ := p.Ledger.Runs(ctx, 100); len(runs) != 3 {
				t.Errorf("%d runs after the refire, want 3", len(runs))
			}
			if got := query(t, home, "SELECT count(*) FROM _fusion_loads"); got[0][0] != "3" {
				t.Errorf("loads %v after the refire, want 3", got)
			}
		})
	}
}

func checkMark(t *testing.T, p *platform.Platform, want time.Time) {
	t.Helper()
	store, err := metastore.Open(filepath.Join(p.Config.Home, platform.MetaFile))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	m, ok, err := store.ScheduleMark(context.Background(), "sales_daily")
	if err != nil || !ok || !m.Equal(want) {
		t.Errorf("schedule mark %s (%v %v), want %s", m, ok, err, want)
	}
}

// `fusion ingest --pipeline sales_daily` starts a run of a snapshot
// pipeline now, through the running `fusion run`; with a FILE it refuses,
// since files under a snapshot prefix start nothing.
func TestJobsScheduledRequestNow(t *testing.T) {
	def, err := os.ReadFile("../../../deploy/pipelines/sales_daily.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := embedded(t, map[string]string{"sales_daily.yaml": string(def)})
	home := p.Config.Home
	ctx := context.Background()
	if code, out, errOut := fusion(t, "ingest", "--home", home, "--pipeline", "sales_daily", "--wait", "--timeout", "1m"); code == 0 ||
		!strings.Contains(out+errOut, "no objects under incoming/sales/") {
		t.Errorf("a run of an empty prefix exited %d:\n%s%s", code, out, errOut)
	}
	var b bytes.Buffer
	if err := sample.SalesDay(&b, salesWeek, 30, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Lake.Put(ctx, salesFile("incoming/sales/", salesWeek), &b); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := fusion(t, "ingest", "--home", home, "--pipeline", "sales_daily", "--wait", "--timeout", "1m", "--reason", "test")
	if code != 0 || !strings.Contains(out, "requested a snapshot of incoming/sales/ for pipeline sales_daily") || !strings.Contains(out, "succeeded") {
		t.Fatalf("ingest exited %d:\n%s%s", code, out, errOut)
	}
	if got, want := salesTable(t, home), salesAggregates(t, 1, 30, 1); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sales_daily:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	file := filepath.Join(t.TempDir(), "x.csv")
	os.WriteFile(file, []byte("a\n1\n"), 0o644)
	if code, out, errOut := fusion(t, "ingest", file, "--home", home, "--pipeline", "sales_daily"); code == 0 || !strings.Contains(out+errOut, "put files there") {
		t.Errorf("a FILE for a snapshot pipeline exited %d:\n%s%s", code, out, errOut)
	}
}
