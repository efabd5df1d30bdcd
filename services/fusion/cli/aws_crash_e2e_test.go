//go:build aws

package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/fusiondata/fusion/deploy/stack"
	"github.com/fusiondata/fusion/services/runtime/awsenv"
	"github.com/fusiondata/fusion/services/runtime/awstest"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/ledger/dynamoledger"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
	"github.com/fusiondata/fusion/services/runtime/warehouse/duckwh"
)

// crashChildEnv is set in the `fusion run` processes that
// TestAWSWorkerKilledMidLoad starts: the test binary re-run as the CLI.
const crashChildEnv = "FUSION_AWS_CRASH_CHILD"

const (
	// crashRows is the sample's size: big enough that loading the curated
	// customers takes a second or two on 2 cores, time to see it start.
	crashRows = 300_000
	// crashVisibility is the SQS visibility timeout of the children: what
	// a killed delivery waits before it can be received again.
	crashVisibility = 5 * time.Second
	crashStep       = "load.curated"
)

// TestAWSWorkerKilledMidLoad runs every worker as a separate `fusion run`
// process on the aws tier and kills it with SIGKILL while the loader loads
// the curated customers into the warehouse. The load's SQS message, no
// longer renewed, becomes visible again once its visibility timeout runs
// out; a second `fusion run` receives it, loads, and the run completes
// with every customer in the warehouse exactly once.
func TestAWSWorkerKilledMidLoad(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		crashChild()
		return
	}
	ctx := context.Background()
	c := awstest.Clients(t)
	prefix, bucket := deployStack(t, c)
	home := t.TempDir()
	env := append(os.Environ(), crashChildEnv+"=1",
		"FUSION_HOME="+home, "FUSION_PIPELINES=", "FUSION_WAREHOUSE=duckdb", "FUSION_TRANSPORT=aws",
		"FUSION_LAKE_BUCKET="+bucket, "FUSION_EVENT_BUS="+prefix, "FUSION_QUEUE_PREFIX="+prefix+"-", "FUSION_TOPIC_PREFIX="+prefix+"-",
		"FUSION_SQS_VISIBILITY="+crashVisibility.String(), "FUSION_RETRIES=1", "FUSION_LOG_LEVEL=info")
	logs := t.TempDir()
	first := startCrashChild(t, env, filepath.Join(logs, "first.log"))

	body := sampleCSV(t, crashRows)
	want := curatedCustomers(t, body)
	key := "landing/churn/crash.csv"
	putObject(t, c, bucket, key, body)

	// The children's run ledger: the deployment's DynamoDB table.
	store, err := dynamoledger.New(c.DynamoDB, dynamoledger.Config{Table: stack.LedgerTable(prefix)})
	if err != nil {
		t.Fatal(err)
	}

	// Kill the process as soon as the ledger shows the load started.
	var runID string
	var before ledger.Step
	deadline := time.Now().Add(60 * time.Second)
	for runID == "" {
		if first.exited() {
			t.Fatalf("the first fusion run exited before the kill: %v", first.err)
		}
		r, err := store.RunForInput(ctx, key)
		switch {
		case errors.Is(err, ledger.ErrNotFound):
		case err != nil:
			t.Fatal(err)
		case r.Status != ledger.Running:
			t.Fatalf("the run ended before %s started: %+v", crashStep, r)
		default:
			if st, ok := stepNamed(r, crashStep); ok && st.Status != ledger.Pending {
				if st.Status != ledger.Started {
					t.Fatalf("%s already %s when first seen: the sample is too small to catch it running", crashStep, st.Status)
				}
				runID, before = r.ID, st
			}
		}
		if runID == "" && time.Now().After(deadline) {
			t.Fatalf("%s did not start within 60s", crashStep)
		}
		time.Sleep(10 * time.Millisecond)
	}
	first.kill()
	killedAt := time.Now()
	t.Logf("run %s: killed the first fusion run %v after %s started", runID, killedAt.Sub(before.StartedAt).Round(time.Millisecond), crashStep)

	// Nothing finished the load: the process did not log its success, its
	// delivery is still in flight on the loader queue, unacknowledged, and
	// the warehouse has no load of the run.
	if n := stepSucceededLines(t, first.log, runID, crashStep); n != 0 {
		t.Fatalf("%s succeeded in the killed process before the kill (%d times): the sample is too small to catch it running", crashStep, n)
	}
	loader := queueURL(t, c, prefix+"-"+pipeline.WorkerLoader)
	if visible, inFlight := queueDepth(t, c, loader); inFlight == 0 {
		t.Fatalf("loader queue right after the kill: %d visible, none in flight; the load's delivery was acknowledged", visible)
	}
	if got := loadsOf(home, runID); got != "no load history yet" && got != "0 loads, 0 rows" {
		t.Fatalf("warehouse after the kill: %s; the load committed before the kill", got)
	}

	// The delivery comes back once its visibility timeout runs out.
	deadline = time.Now().Add(3 * crashVisibility)
	for {
		visible, inFlight := queueDepth(t, c, loader)
		if inFlight == 0 && visible > 0 {
			t.Logf("the loader's messages visible again %v after the kill: %d", time.Since(killedAt).Round(time.Millisecond), visible)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("loader queue %v after the kill: %d visible, %d in flight", time.Since(killedAt), visible, inFlight)
		}
		time.Sleep(50 * time.Millisecond)
	}

	second := startCrashChild(t, env, filepath.Join(logs, "second.log"))
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	r, err := waitForRun(wctx, store, key, io.Discard)
	if err != nil || r.ID != runID || r.Status != ledger.Succeeded {
		t.Fatalf("after the restart: %v, run %+v (second process exited: %v)", err, r, second.exited())
	}
	for _, st := range r.Steps {
		if st.Status != ledger.Succeeded {
			t.Errorf("step %s %s", st.Name, st.Status)
		}
	}

	// The killed step ran again, in the second process.
	after, _ := stepNamed(r, crashStep)
	if !after.StartedAt.After(killedAt) || stepSucceededLines(t, second.log, runID, crashStep) != 1 {
		t.Errorf("%s started at %v, before the kill at %v; logged as succeeded %d times by the second process",
			crashStep, after.StartedAt, killedAt, stepSucceededLines(t, second.log, runID, crashStep))
	}
	t.Logf("%s ran again %v after the kill and took %dms", crashStep, after.StartedAt.Sub(killedAt).Round(time.Millisecond), after.DurationMS)
	transform, _ := stepNamed(r, "transform")
	if transform.RowsOut != want || after.RowsOut != want {
		t.Errorf("transform wrote %d rows, %s loaded %d; the sample has %d customers with a fee", transform.RowsOut, crashStep, after.RowsOut, want)
	}

	// Every customer once in the warehouse, each load applied once.
	n := strconv.FormatInt(want, 10)
	for _, table := range []string{"churn_customers", "churn_predictions"} {
		if got := query(t, home, "SELECT count(*), count(DISTINCT customer_id) FROM "+table); got[0][0] != n || got[0][1] != n {
			t.Errorf("%s: %v rows and distinct customers, want %s", table, got[0], n)
		}
	}
	if got, want := loadsOf(home, runID), fmt.Sprintf("2 loads, %d rows", 2*want); got != want {
		t.Errorf("load history of %s: %s, want %s", runID, got, want)
	}
}

// crashChild runs `fusion run` when this test binary is the child.
func crashChild() {
	cfg, err := config.FromEnv(os.Environ())
	os.Exit(Execute(cfg, err, []string{"run"}, os.Stdout, os.Stderr))
}

// crashProcess is a `fusion run` child.
type crashProcess struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// startCrashChild starts `fusion run` with env, its output in log; it is
// killed when the test ends, and its log shown if the test failed.
func startCrashChild(t *testing.T, env []string, log string) *crashProcess {
	t.Helper()
	cmd := startChild(t, env, log)
	p := &crashProcess{cmd: cmd, log: log, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(log)
			t.Logf("%s (pid %d, %v):\n%s", filepath.Base(log), cmd.Process.Pid, p.err, crashTail(b, 200))
		}
	})
	return p
}

// kill sends SIGKILL — no graceful shutdown — and reaps the process.
func (p *crashProcess) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *crashProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// crashTail keeps the last n lines of b.
func crashTail(b []byte, n int) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return bytes.Join(lines, nil)
}

// stepSucceededLines counts the "step succeeded" log lines of a step of a
// run in a child's JSON log.
func stepSucceededLines(t *testing.T, log, runID, step string) int {
	t.Helper()
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	lines := bufio.NewScanner(f)
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		var rec struct {
			Msg   string `json:"msg"`
			Step  string `json:"step"`
			RunID string `json:"run_id"`
		}
		if json.Unmarshal(lines.Bytes(), &rec) == nil && rec.Msg == "step succeeded" && rec.Step == step && rec.RunID == runID {
			n++
		}
	}
	return n
}

func stepNamed(r ledger.Run, name string) (ledger.Step, bool) {
	for _, st := range r.Steps {
		if st.Name == name {
			return st, true
		}
	}
	return ledger.Step{}, false
}

// curatedCustomers counts the sample's customers the pipeline keeps: those
// with a fee (test accounts have none).
func curatedCustomers(t *testing.T, csv []byte) int64 {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	col := -1
	for i, name := range strings.Split(lines[0], ",") {
		if name == "monthly_fee" {
			col = i
		}
	}
	var n int64
	for _, line := range lines[1:] {
		fee, err := strconv.ParseFloat(strings.Split(line, ",")[col], 64)
		if err != nil {
			t.Fatalf("sample line %q: %v", line, err)
		}
		if fee > 0 {
			n++
		}
	}
	return n
}

// loadsOf summarizes a run's load history in a home's warehouse.
func loadsOf(home, runID string) string {
	wh := duckwh.New(filepath.Join(home, platform.WarehouseFile), duckwh.Options{})
	out := "no load history yet"
	err := wh.Query(context.Background(), "SELECT count(*), coalesce(sum(rows), 0) FROM "+duckwh.History+" WHERE run_id = '"+runID+"'", func(_ []string, row []any) error {
		if row != nil {
			out = fmt.Sprintf("%v loads, %v rows", row[0], row[1])
		}
		return nil
	})
	if err != nil && !strings.Contains(err.Error(), duckwh.History+" does not exist") {
		return err.Error()
	}
	return out
}

func queueURL(t *testing.T, c awsenv.Clients, name string) string {
	t.Helper()
	out, err := c.SQS.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.QueueUrl)
}

// queueDepth returns how many messages a queue holds ready to receive and
// in flight (received, neither deleted nor visible again).
func queueDepth(t *testing.T, c awsenv.Clients, url string) (visible, inFlight int) {
	t.Helper()
	out, err := c.SQS.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: &url,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	visible, _ = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	inFlight, _ = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return visible, inFlight
}
