//go:build traces

package cli

// The traces tier (scripts/test.sh traces): the sample runs with every
// span recorded by the SDK's in-memory recorder, and each run must be one
// trace whose tree is the flow of its events — ingest, then transform, then
// traindata, inference and the loads — with each worker's spans under its
// own service, SQL spans under the steps that ran the SQL, and the trace id
// the run ledger recorded. A run redriven from a dead letter continues its
// trace. traces_aws_test.go runs the same on the aws tier on moto.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/platform"
	"github.com/fusiondata/fusion/services/runtime/telemetry"
	"github.com/fusiondata/fusion/services/runtime/telemetry/otlptest"
)

// churnFlow is the churn run's tree of handler spans: each step's span and
// the step span it descends from, through the upstream's publish span.
var churnFlow = map[string]string{
	"ingest ingest":           "",
	"transform transform":     "ingest ingest",
	"traindata traindata":     "transform transform",
	"inference inference":     "transform transform",
	"loader load.curated":     "transform transform",
	"loader load.predictions": "inference inference",
}

// churnFlowOnce expects each span of the churn flow once.
func churnFlowOnce() map[string]int {
	want := map[string]int{}
	for name := range churnFlow {
		want[name] = 1
	}
	return want
}

// spans indexes recorded spans.
type spans struct {
	all  []sdktrace.ReadOnlySpan
	byID map[trace.SpanID]sdktrace.ReadOnlySpan
}

func index(all []sdktrace.ReadOnlySpan) spans {
	s := spans{all: all, byID: map[trace.SpanID]sdktrace.ReadOnlySpan{}}
	for _, sp := range all {
		s.byID[sp.SpanContext().SpanID()] = sp
	}
	return s
}

// named returns the spans of a name.
func (s spans) named(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, sp := range s.all {
		if sp.Name() == name {
			out = append(out, sp)
		}
	}
	return out
}

// one returns the only span of a name.
func (s spans) one(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	got := s.named(name)
	if len(got) != 1 {
		t.Fatalf("%d spans named %q, want 1", len(got), name)
	}
	return got[0]
}

func (s spans) parent(sp sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	return s.byID[sp.Parent().SpanID()]
}

// isStep says whether a span is a handler invocation.
func isStep(sp sdktrace.ReadOnlySpan) bool {
	return sp.SpanKind() == trace.SpanKindConsumer && attr(sp, "fusion.step") != ""
}

// stepAbove is the nearest handler span above sp, nil for none.
func (s spans) stepAbove(sp sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	for p := s.parent(sp); p != nil; p = s.parent(p) {
		if isStep(p) {
			return p
		}
	}
	return nil
}

// under says whether sp descends from ancestor.
func (s spans) under(sp, ancestor sdktrace.ReadOnlySpan) bool {
	for p := s.parent(sp); p != nil; p = s.parent(p) {
		if p.SpanContext().SpanID() == ancestor.SpanContext().SpanID() {
			return true
		}
	}
	return false
}

// tree draws the spans as a tree, for the log.
func (s spans) tree() string {
	children := map[trace.SpanID][]sdktrace.ReadOnlySpan{}
	var roots []sdktrace.ReadOnlySpan
	for _, sp := range s.all {
		if _, ok := s.byID[sp.Parent().SpanID()]; ok {
			children[sp.Parent().SpanID()] = append(children[sp.Parent().SpanID()], sp)
		} else {
			roots = append(roots, sp)
		}
	}
	var b strings.Builder
	var draw func(sp sdktrace.ReadOnlySpan, depth int)
	draw = func(sp sdktrace.ReadOnlySpan, depth int) {
		fmt.Fprintf(&b, "%s%s [%s]", strings.Repeat("  ", depth), sp.Name(), service(sp))
		if n := len(sp.Links()); n > 0 {
			fmt.Fprintf(&b, " (%d link)", n)
		}
		b.WriteString("\n")
		kids := children[sp.SpanContext().SpanID()]
		sort.Slice(kids, func(i, j int) bool { return kids[i].StartTime().Before(kids[j].StartTime()) })
		for _, c := range kids {
			draw(c, depth+1)
		}
	}
	for _, r := range roots {
		draw(r, 0)
	}
	return b.String()
}

func (s spans) traces() map[trace.TraceID]int {
	out := map[trace.TraceID]int{}
	for _, sp := range s.all {
		out[sp.SpanContext().TraceID()]++
	}
	return out
}

func attr(sp interface{ Attributes() []attribute.KeyValue }, key string) string {
	for _, a := range sp.Attributes() {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}

func linkSource(l sdktrace.Link) string {
	for _, a := range l.Attributes {
		if a.Key == "fusion.link.source" {
			return a.Value.AsString()
		}
	}
	return ""
}

func service(sp sdktrace.ReadOnlySpan) string {
	v, _ := sp.Resource().Set().Value("service.name")
	return v.AsString()
}

// recordSpansOf records every span of a platform's workers.
func recordSpansOf(p *platform.Platform) *tracetest.SpanRecorder {
	rec := tracetest.NewSpanRecorder()
	p.Tracing.RegisterSpanProcessor(rec)
	return rec
}

// waitForSpans waits until the recorder holds n ended spans of each name
// (spans end just after a step's success is published, so a run may be
// succeeded in the ledger a moment before).
func waitForSpans(t *testing.T, rec *tracetest.SpanRecorder, want map[string]int) spans {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := index(rec.Ended())
		missing := ""
		for name, n := range want {
			if got := len(s.named(name)); got < n {
				missing = name
			}
		}
		if missing == "" {
			time.Sleep(200 * time.Millisecond) // anything ending late
			return index(rec.Ended())
		}
		if time.Now().After(deadline) {
			var names []string
			for _, sp := range s.all {
				names = append(names, sp.Name())
			}
			t.Fatalf("no %q span among %d: %s", missing, len(names), strings.Join(names, ", "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// assertOneTrace checks the tree of a succeeded churn run: one trace, the
// ledger's, rooted at ingest with the run's trace id; each step once,
// under the step whose event it consumed through that step's publish
// span; each worker its own service; the SQL under the steps.
func assertOneTrace(t *testing.T, s spans, run ledger.Run) {
	t.Helper()
	t.Logf("the run's trace:\n%s", s.tree())
	if tr := s.traces(); len(tr) != 1 {
		t.Fatalf("%d traces, want 1: %v", len(tr), tr)
	}
	tid := s.all[0].SpanContext().TraceID()
	if run.TraceID != tid.String() || tid != telemetry.RunTraceID(run.ID) {
		t.Errorf("trace %s; the ledger recorded %q for run %s", tid, run.TraceID, run.ID)
	}
	for name, from := range churnFlow {
		sp := s.one(t, name)
		worker := strings.Fields(name)[0]
		if service(sp) != "fusion-"+worker || attr(sp, "fusion.run_id") != run.ID {
			t.Errorf("%s: service %q, run %q", name, service(sp), attr(sp, "fusion.run_id"))
		}
		if from == "" {
			if sp.Parent().IsValid() {
				t.Errorf("%s has a parent %v", name, sp.Parent())
			}
			continue
		}
		up := s.stepAbove(sp)
		if up == nil || up.Name() != from {
			t.Errorf("%s descends from %v, want %s", name, up, from)
			continue
		}
		if pub := s.parent(sp); pub == nil || pub.Name() != strings.Fields(from)[0]+" publish" || pub.SpanKind() != trace.SpanKindProducer || s.parent(pub) != up {
			t.Errorf("%s: parent %v, want %s's publish span", name, pub, from)
		}
	}
	// SQL: the loads under the loader, the transform's statements under it.
	for table, step := range map[string]string{"churn_customers": "loader load.curated", "churn_predictions": "loader load.predictions"} {
		load := s.one(t, "duckdb load "+table)
		if s.stepAbove(load) != s.one(t, step) || attr(load, "db.system") != "duckdb" || attr(load, "db.operation") != "load" ||
			attr(load, "fusion.load_applied") != "true" || service(load) != "fusion-loader" {
			t.Errorf("load of %s: under %v, attributes %v", table, s.stepAbove(load), load.Attributes())
		}
	}
	copies := 0
	for _, sp := range s.named("duckdb COPY") {
		if up := s.stepAbove(sp); up != nil && up.Name() == "transform transform" && attr(sp, "db.rows") != "" {
			copies++
		}
	}
	if copies != 1 {
		t.Errorf("%d COPY spans under the transform, want 1", copies)
	}
}

// tracedConfig is an embedded home exporting its spans over OTLP/gRPC to
// rcv, configured as a user would: the standard variable, which the
// exporter reads, and the configuration read from it.
func tracedConfig(t *testing.T, rcv *otlptest.Receiver) config.Config {
	t.Helper()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.Endpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	env, err := config.FromEnv(os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	return config.Config{Home: filepath.Join(t.TempDir(), "home"), LandingPoll: 20 * time.Millisecond, Retries: 1, Concurrency: 2, Tracing: env.Tracing}
}

// TestTracesOneTracePerRun runs the sample on the embedded tier: one trace,
// exported over OTLP/gRPC as recorded.
func TestTracesOneTracePerRun(t *testing.T) {
	rcv, err := otlptest.StartGRPC("127.0.0.1:0", true)
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	var rec *tracetest.SpanRecorder
	p := startWith(t, tracedConfig(t, rcv), func(p *platform.Platform) { rec = recordSpansOf(p) })
	if !p.Config.Tracing.Exporting() {
		t.Fatal("tracing export is off")
	}
	run := land(t, p, "landing/churn/customers.csv", string(sampleRows(t, 2000)))
	if run.Status != ledger.Succeeded {
		t.Fatalf("run %+v", run)
	}
	s := waitForSpans(t, rec, churnFlowOnce())
	assertOneTrace(t, s, run)

	// What was recorded was exported, span for span, each worker as its
	// own service.
	if err := p.Tracing.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	exported := map[string]otlptest.Span{}
	for _, sp := range rcv.Spans() {
		exported[sp.SpanID] = sp
	}
	services := map[string]bool{}
	for _, sp := range s.all {
		got, ok := exported[sp.SpanContext().SpanID().String()]
		if !ok || got.Name != sp.Name() || got.Service != service(sp) || got.TraceID != sp.SpanContext().TraceID().String() {
			t.Errorf("%s (%s) exported as %+v", sp.Name(), service(sp), got)
		}
		services[got.Service] = true
	}
	if len(services) != 5 {
		t.Errorf("exported services %v, want the five workers'", services)
	}
	t.Logf("run %s: %d spans in trace %s, %d exported in %d requests", run.ID, len(s.all), run.TraceID, rcv.Count(), rcv.Requests())
}

// sampleRows is the churn sample of n rows as CSV.
func sampleRows(t *testing.T, n int) []byte {
	t.Helper()
	code, out, _ := fusion(t, "sample", "--rows", strconv.Itoa(n))
	if code != 0 {
		t.Fatal("sample failed")
	}
	return []byte(out)
}

// breakTransform makes the home's churn transform fail for good (a column
// the data lacks) and returns how to fix it.
func breakTransform(t *testing.T, p *platform.Platform) (fix func()) {
	t.Helper()
	file := filepath.Join(p.Config.PipelinesDir(), "churn.yaml")
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(good), "FROM input", "FROM input WHERE colour = 'red'", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the registry looks for changes every second
	return func() {
		if err := os.WriteFile(file, good, 0o644); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond)
	}
}

// assertRedrivenTrace checks a run whose transform was dead-lettered and
// redriven: still one trace, the ledger's; the redriven transform under the
// same parent as the failed one, linking it; the rest of the run under the
// redriven transform.
func assertRedrivenTrace(t *testing.T, s spans, run ledger.Run) {
	t.Helper()
	t.Logf("the run's trace:\n%s", s.tree())
	if tr := s.traces(); len(tr) != 1 {
		t.Fatalf("%d traces, want 1: %v", len(tr), tr)
	}
	if tid := s.all[0].SpanContext().TraceID(); run.TraceID != tid.String() {
		t.Errorf("trace %s; the ledger recorded %q", tid, run.TraceID)
	}
	transforms := s.named("transform transform")
	if len(transforms) != 2 {
		t.Fatalf("%d transform spans, want the failed one and the redriven one", len(transforms))
	}
	failed, again := transforms[0], transforms[1]
	if failed.Status().Code.String() != "Error" || again.Status().Code.String() == "Error" {
		t.Errorf("statuses: failed %v, redriven %v", failed.Status(), again.Status())
	}
	if again.Parent().SpanID() != failed.Parent().SpanID() || s.parent(again) == nil || s.parent(again).Name() != "ingest publish" {
		t.Errorf("redriven transform's parent %v, the failed one's %v", again.Parent(), failed.Parent())
	}
	if l := again.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != failed.SpanContext().SpanID() || linkSource(l[0]) != "message metadata" {
		t.Errorf("redriven transform links %+v, want the failed attempt %v", l, failed.SpanContext().SpanID())
	}
	for _, name := range []string{"traindata traindata", "inference inference", "loader load.curated", "loader load.predictions"} {
		if sp := s.one(t, name); !s.under(sp, again) {
			t.Errorf("%s is not under the redriven transform", name)
		}
	}
}

// TestTracesRedrivenRunContinuesItsTrace dead-letters a run's transform on
// the embedded tier, fixes the pipeline and redrives it with `fusion dlq
// redrive`: the run finishes in the trace it started.
func TestTracesRedrivenRunContinuesItsTrace(t *testing.T) {
	cfg := config.Config{Home: filepath.Join(t.TempDir(), "home"), LandingPoll: 20 * time.Millisecond, Retries: 0, Concurrency: 2}
	var rec *tracetest.SpanRecorder
	p := startWith(t, cfg, func(p *platform.Platform) { rec = recordSpansOf(p) })
	fix := breakTransform(t, p)
	run := land(t, p, "landing/churn/customers.csv", string(sampleRows(t, 500)))
	if run.Status != ledger.Failed {
		t.Fatalf("run %+v", run)
	}
	fix()
	if code, out, errOut := fusion(t, "dlq", "redrive", "--home", p.Config.Home, "--run", run.ID); code != 0 || strings.TrimSpace(out) != "redrove 1 dead letters" {
		t.Fatalf("dlq redrive (%d): %s%s", code, out, errOut)
	}
	waitSucceeded(t, p, run.ID)
	run, err := p.Ledger.Run(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	s := waitForSpans(t, rec, map[string]int{"transform transform": 2, "loader load.curated": 1, "loader load.predictions": 1, "traindata traindata": 1})
	assertRedrivenTrace(t, s, run)
}
