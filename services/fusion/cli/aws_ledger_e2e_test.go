//go:build aws

package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/awstest"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/ledger/dynamoledger"
	"github.com/fusiondata/fusion/services/runtime/metastore"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
)

// TestAWSLedgerInDynamoDB runs the sample on the aws tier with a deadline
// of one second, which a run whose loads take 1.5s each overruns, and a
// second ledger process (`fusion run --workers none`, a home of its own)
// beside the first. The run is recorded end to end in the deployment's
// DynamoDB table, not in any home; `fusion runs` on the aws tier reads it
// there and shows it succeeded, late; and exactly one fusion.run.late.v1
// for it reaches the failures topic's SQS subscription, though two ledger
// processes check for late runs every 100ms.
func TestAWSLedgerInDynamoDB(t *testing.T) {
	c := awstest.Clients(t)
	prefix, bucket := deployStack(t, c)
	pipelines := t.TempDir()
	churn, err := os.ReadFile("../../../deploy/pipelines/churn.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pipelines, "churn.yaml"), append(churn, "deadline: 1s\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{Home: t.TempDir(), Pipelines: pipelines, Transport: config.TransportAWS, LakeBucket: bucket, S3PathStyle: true,
		EventBus: prefix, QueuePrefix: prefix + "-", TopicPrefix: prefix + "-", SQSVisibility: 10 * time.Second, Retries: 1,
		DeadlineCheck: 100 * time.Millisecond}
	var logs lockedBuffer
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	p, tap1, _ := runLedger(t, cfg, &logs, ledgerProcess{workers: pipeline.Workers, slow: 1500 * time.Millisecond})
	second := cfg
	second.Home = t.TempDir()
	_, tap2, _ := runLedger(t, second, &logs, ledgerProcess{})
	if _, ok := p.Ledger.(*dynamoledger.Ledger); !ok {
		t.Fatalf("the aws tier's ledger is a %T", p.Ledger)
	}

	key := "landing/churn/late.csv"
	putObject(t, c, bucket, key, sampleCSV(t, 300))
	r := waitRun(t, p, key)
	if r.Status != ledger.Succeeded || len(r.Steps) != 6 || r.Deadline != time.Second || !r.Late() {
		t.Fatalf("run %+v", r)
	}
	t.Logf("run %s took %v, found late %v after it started", r.ID, r.Duration().Round(time.Millisecond), r.LateAt.Sub(r.StartedAt).Round(time.Millisecond))
	for _, st := range r.Steps {
		if st.Status != ledger.Succeeded || st.Attempt != 1 || st.RowsOut == 0 {
			t.Errorf("step %+v", st)
		}
	}

	// The notice reached the failures queue through SNS, once.
	late := func() []messages.Envelope { return append(tap1.late(t, r.ID), tap2.late(t, r.ID)...) }
	until(t, "the late notice on the failures queue", func() bool { return len(late()) > 0 })
	time.Sleep(2 * time.Second) // twenty more checks by each ledger process
	notices := late()
	if len(notices) != 1 {
		t.Fatalf("%d late notices for run %s, want 1", len(notices), r.ID)
	}
	d, err := messages.Decode(notices[0])
	if err != nil {
		t.Fatal(err)
	}
	if n := d.(*messages.RunLate); n.Pipeline != "churn" || n.Input != key || n.DeadlineMS != 1000 || len(n.Done)+len(n.Pending) != 6 {
		t.Errorf("notice %+v", n)
	}

	// The history is in DynamoDB, not in either home.
	for _, home := range []string{cfg.Home, second.Home} {
		store, err := metastore.Open(filepath.Join(home, platform.MetaFile))
		if err != nil {
			t.Fatal(err)
		}
		runs, err := store.Runs(context.Background(), 10)
		store.Close()
		if err != nil || len(runs) != 0 {
			t.Errorf("home %s holds runs: %v %v", home, runs, err)
		}
	}

	// fusion runs on the aws tier, from anywhere (a home of its own).
	reader := cfg
	reader.Home = t.TempDir()
	var out, errOut bytes.Buffer
	if code := Execute(reader, nil, []string{"runs"}, &out, &errOut); code != 0 {
		t.Fatalf("fusion runs exited %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "RUN_ID") || !strings.HasPrefix(lines[1], r.ID+"  churn") ||
		!strings.Contains(lines[1], "succeeded (late)") || !strings.Contains(lines[1], "6/6") {
		t.Errorf("fusion runs:\n%s", out.String())
	}
	out.Reset()
	if code := Execute(reader, nil, []string{"runs", r.ID}, &out, &errOut); code != 0 {
		t.Fatalf("fusion runs %s exited %d: %s", r.ID, code, errOut.String())
	}
	if s := out.String(); !strings.Contains(s, "succeeded (late)") || !strings.Contains(s, "input "+key) || !strings.Contains(s, "deadline 1s  late:") ||
		!strings.Contains(s, "load.predictions  succeeded") {
		t.Errorf("fusion runs %s:\n%s", r.ID, s)
	}
	t.Logf("fusion runs %s:\n%s", r.ID, out.String())
}
