//go:build jobs && aws

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/fusiondata/fusion/deploy/stack"
	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/awsenv"
	"github.com/fusiondata/fusion/services/runtime/awstest"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/platform"
)

// Activities and preconditions on the aws tier: the stack deployed onto
// moto, every worker on EventBridge -> SQS, the lake in S3, the ledger in
// DynamoDB, and the databases copies read and write a real Postgres.

// awsEnv is what `fusion run` reads on the aws tier of the stack deployed
// under prefix; extra variables come last and win. The SDK reads moto's
// endpoint and credentials from the process's environment.
func awsEnv(home, prefix string, extra ...string) []string {
	return append([]string{"FUSION_HOME=" + home, "FUSION_TRANSPORT=aws", "FUSION_LAKE_BUCKET=" + prefix + "-lake",
		"FUSION_EVENT_BUS=" + prefix, "FUSION_QUEUE_PREFIX=" + prefix + "-", "FUSION_TOPIC_PREFIX=" + prefix + "-",
		"FUSION_SQS_VISIBILITY=10s", "FUSION_RETRIES=1", "AWS_ENDPOINT_URL=" + os.Getenv("AWS_ENDPOINT_URL")}, extra...)
}

// startAWS runs every worker and the ledger with the configuration env
// describes, as main would read it; the logs are kept for the test.
func startAWS(t *testing.T, env []string) (*platform.Platform, *lockedBuffer) {
	t.Helper()
	cfg, err := config.FromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	return startLogged(t, cfg, func(*platform.Platform) {})
}

// deployPipelines deploys a stack of the given pipelines alone onto the
// emulator under prefix (its lake bucket prefix-lake) and writes them into
// home's pipelines directory, so the workers run exactly what is deployed.
func deployPipelines(t *testing.T, c awsenv.Clients, prefix, home string, files map[string]string) {
	t.Helper()
	var pipes []*pipeline.Pipeline
	for name, body := range files {
		p, err := pipeline.Parse(name, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		pipes = append(pipes, p)
	}
	tpl, err := stack.Render(pipes)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := stack.Apply(ctx, c, tpl, stack.Deployment{StackName: prefix, Parameters: map[string]string{
		"Prefix": prefix, "LakeBucketName": prefix + "-lake", "Subnets": "subnet-0123", "SecurityGroups": "sg-0123",
	}}); err != nil {
		t.Fatal(err)
	}
	writePipelines(t, home, files)
}

// s3Keys lists the keys under a prefix of a bucket, sorted.
func s3Keys(t *testing.T, c awsenv.Clients, bucket, prefix string) []string {
	t.Helper()
	out, err := c.S3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	sort.Strings(keys)
	return keys
}

// s3File downloads an object straight from S3 into a local file, for
// DuckDB to read.
func s3File(t *testing.T, c awsenv.Clients, bucket, key string) string {
	t.Helper()
	out, err := c.S3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	f, err := os.Create(filepath.Join(t.TempDir(), filepath.Base(key)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, out.Body); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// stepsSucceeded fails the test unless each named step of r succeeded,
// with the rows out given (-1: any).
func stepsSucceeded(t *testing.T, r ledger.Run, rowsOut map[string]int64) {
	t.Helper()
	if r.Status != ledger.Succeeded {
		t.Fatalf("run %s: %s (%s)", r.ID, r.Status, stepNames(r))
	}
	for name, rows := range rowsOut {
		s, ok := runStep(r, name)
		if !ok || s.Status != ledger.Succeeded || (rows >= 0 && s.RowsOut != rows) {
			t.Errorf("%s: %+v, want succeeded with %d rows out", name, s, rows)
		}
	}
}

// TestJobsAWSScoring runs the churn_scoring sample on the aws tier with
// FUSION_CONN_REPORTING set: its precondition finds the registered model
// in S3, the scores load into the warehouse, export_lake writes them as
// Parquet to S3, export_reporting copies every score once into Postgres
// and prune_low_scores deletes the negligible ones from the warehouse only.
func TestJobsAWSScoring(t *testing.T) {
	pg, schema, dsn := pgSchema(t)
	c := awstest.Clients(t)
	prefix, bucket := deployStack(t, c)
	home := t.TempDir()
	p, logs := startAWS(t, awsEnv(home, prefix, "FUSION_CONN_REPORTING="+dsn))

	key := "landing/churn_scoring/customers.csv"
	putObject(t, c, bucket, key, sampleCSV(t, 10000))
	r := waitRun(t, p, key)
	ref := reference(t)
	kept, sum := 0, 0.0
	for _, s := range ref {
		if s[0] >= 0.08 {
			kept++
		}
		sum += s[0]
	}
	n := int64(len(ref))
	stepsSucceeded(t, r, map[string]int64{"ingest": 10000, "transform": n, "inference": n, "load.predictions": n,
		"activity.export_lake": -1, "activity.export_reporting": n, "activity.prune_low_scores": n - int64(kept)})
	if len(r.Steps) != 7 {
		t.Errorf("steps %s, want 7", stepNames(r))
	}
	if !strings.Contains(logs.String(), `"msg":"precondition holds","service":"fusion","worker":"inference","step":"inference"`) {
		t.Error("inference did not check for the registered model in S3")
	}

	// Postgres: every customer's score once, lightgbm's, in one load.
	rows, err := pg.Query(context.Background(), "SELECT customer_id, score, model, model_version FROM "+schema+".churn_scores")
	if err != nil {
		t.Fatal(err)
	}
	reporting := map[string]float64{}
	worst := 0.0
	for rows.Next() {
		var id int64
		var score float64
		var model, version string
		if err := rows.Scan(&id, &score, &model, &version); err != nil {
			t.Fatal(err)
		}
		k := strconv.FormatInt(id, 10)
		want, ok := ref[k]
		if _, dup := reporting[k]; dup || !ok || model != "churn_lgbm" || version != "1" {
			t.Fatalf("reporting row %s %v %s %s: duplicate %v, known %v", k, score, model, version, dup, ok)
		}
		reporting[k] = score
		worst = math.Max(worst, math.Abs(score-want[0]))
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if len(reporting) != len(ref) || worst > 1e-6 {
		t.Errorf("reporting holds %d scores (want %d), max difference from lightgbm %g", len(reporting), len(ref), worst)
	}
	if got := pgRows(t, pg, "SELECT count(*), sum(rows)::bigint FROM "+schema+"._fusion_loads WHERE load_id = '"+r.ID+"/churn_scoring.activity.export_reporting/0'"); got != fmt.Sprintf("1 %d", n) {
		t.Errorf("reporting load history: %s", got)
	}

	// The warehouse after the prune: the scores of 8% and more, each the
	// very value the reporting database got.
	scores := query(t, home, "SELECT customer_id, score FROM churn_scores")
	for _, row := range scores {
		s, _ := strconv.ParseFloat(row[1], 64)
		if got, ok := reporting[row[0]]; !ok || got != s || s < 0.08 {
			t.Fatalf("warehouse score %v; reporting has %v (%v)", row, got, ok)
		}
	}
	if len(scores) != kept || kept == len(ref) {
		t.Errorf("warehouse holds %d scores after the prune, want %d of %d", len(scores), kept, len(ref))
	}

	// S3: one Parquet object of every score under the day's and run's prefix.
	exports := s3Keys(t, c, bucket, "exports/churn_scores/")
	want := "exports/churn_scores/" + pipeline.Vars{RunID: r.ID}.Date() + "/" + r.ID + "/churn_lgbm-1.parquet"
	if len(exports) != 1 || exports[0] != want {
		t.Fatalf("lake exports %v, want [%s]", exports, want)
	}
	got := query(t, home, "SELECT count(*), count(DISTINCT customer_id), sum(score) FROM read_parquet('"+s3File(t, c, bucket, exports[0])+"')")[0]
	total, _ := strconv.ParseFloat(got[2], 64)
	if got[0] != strconv.Itoa(len(ref)) || got[1] != got[0] || math.Abs(total-sum) > 1e-6 {
		t.Errorf("lake export: %v, want %d scores summing to %v", got, len(ref), sum)
	}
}

const s3Waiting = `name: s3wait
source: {prefix: landing/s3wait/, format: csv, schema: [{name: id, type: BIGINT, required: true}, {name: amount, type: DOUBLE}]}
transform: {sql: "SELECT id, amount * 2 AS doubled FROM input"}
load: [{dataset: curated, table: s3wait, keys: [id], mode: merge}]
preconditions:
  - step: transform
    prefix_not_empty: flags/s3wait/{{run_id}}/
    timeout: 1m
    retry_every: 1s
`

// A precondition on S3 that comes true while its step waits lets the run
// go on. The step waits past its message's SQS visibility timeout: the
// worker renews the visibility, so the event is not delivered again.
func TestJobsAWSPreconditionHoldsMidWait(t *testing.T) {
	c := awstest.Clients(t)
	prefix, home := awstest.Name("f"), t.TempDir()
	bucket := prefix + "-lake"
	deployPipelines(t, c, prefix, home, map[string]string{"s3wait.yaml": s3Waiting})
	const visibility = 3 * time.Second // SQS's visibility timeout, the shortest the workers take
	p, logs := startAWS(t, awsEnv(home, prefix, "FUSION_SQS_VISIBILITY="+visibility.String()))
	ctx := context.Background()

	key := "landing/s3wait/a.csv"
	putObject(t, c, bucket, key, []byte("id,amount\n1,2\n2,5\n"))
	var r ledger.Run
	until(t, "transform waits for its flag", func() bool {
		var err error
		r, err = p.Ledger.RunForInput(ctx, key)
		s, ok := runStep(r, "transform")
		return err == nil && ok && s.Status == ledger.Started && strings.Contains(logs.String(), `"msg":"waiting for a precondition"`)
	})
	time.Sleep(visibility + visibility/2) // past the visibility timeout: a message not renewed would be received again
	if now, err := p.Ledger.Run(ctx, r.ID); err != nil || now.Status == ledger.Succeeded {
		t.Fatalf("the run went on without its flag: %+v %v", now, err)
	}
	putObject(t, c, bucket, "flags/s3wait/"+r.ID+"/_READY", nil)
	waitSucceeded(t, p, r.ID)

	if got := query(t, home, "SELECT id, doubled FROM s3wait ORDER BY id"); fmt.Sprint(got) != "[[1 4] [2 10]]" {
		t.Errorf("s3wait = %v", got)
	}
	r, _ = p.Ledger.Run(ctx, r.ID)
	if s, _ := runStep(r, "transform"); s.Attempt != 1 || s.RowsOut != 2 {
		t.Errorf("transform %+v", s)
	}
	log := logs.String()
	if n := strings.Count(log, `"msg":"waiting for a precondition"`); n != 1 || !strings.Contains(log, `"msg":"precondition holds","service":"fusion","worker":"transform"`) {
		t.Errorf("%d waits for the precondition, or it never held", n)
	}
	if strings.Contains(log, `"msg":"event already in hand here; redelivered later","service":"fusion","worker":"transform"`) {
		t.Error("the waiting transform's event was delivered again: its visibility was not renewed")
	}
}

const s3Never = `name: s3never
source: {prefix: landing/s3never/, format: csv, schema: [{name: id, type: BIGINT, required: true}, {name: amount, type: DOUBLE}]}
transform: {sql: "SELECT id, amount * 2 AS doubled FROM input"}
load: [{dataset: curated, table: s3never, keys: [id], mode: merge}]
preconditions:
  - step: transform
    object_exists: flags/s3never/{{date}}/_READY
    timeout: 3s
    retry_every: 1s
`

// A precondition on S3 that never holds fails its step for good with the
// reason — in the DynamoDB ledger, `fusion runs`, `fusion dlq list` — and
// its event goes to the transform's SQS dead-letter queue.
func TestJobsAWSPreconditionNeverHolds(t *testing.T) {
	c := awstest.Clients(t)
	prefix, home := awstest.Name("f"), t.TempDir()
	bucket := prefix + "-lake"
	deployPipelines(t, c, prefix, home, map[string]string{"s3never.yaml": s3Never})
	env := awsEnv(home, prefix)
	p, _ := startAWS(t, env)

	key := "landing/s3never/a.csv"
	putObject(t, c, bucket, key, []byte("id,amount\n1,2\n"))
	r := waitRun(t, p, key)
	flag := "flags/s3never/" + pipeline.Vars{RunID: r.ID}.Date() + "/_READY"
	want := regexp.MustCompile(`^precondition object_exists ` + regexp.QuoteMeta(flag) + ` did not hold within 3s \(\d checks, every 1s; last: not found\)$`)
	s, ok := runStep(r, "transform")
	if r.Status != ledger.Failed || !ok || s.Status != ledger.Failed || s.Error == nil || !want.MatchString(s.Error.Message) || !s.Error.Permanent || s.Attempt != 1 {
		t.Fatalf("run %+v\nstep %+v %+v", r, s, s.Error)
	}
	if l, _ := runStep(r, "load.curated"); l.Status != ledger.Pending {
		t.Errorf("load.curated ran: %+v", l)
	}
	code, out, errOut := fusionWithEnv(t, env, "runs", r.ID)
	if code != 0 || !strings.Contains(out, "transform failed: "+s.Error.Message) {
		t.Errorf("runs %s: exit %d\n%s%s", r.ID, code, out, errOut)
	}
	letters := waitDeadLetters(t, p, r.ID)
	code, out, errOut = fusionWithEnv(t, env, "dlq", "list", "--run", r.ID)
	if code != 0 || !strings.Contains(out, "transform") || !strings.Contains(out, "precondition object_exists "+flag+" did not hold within 3s") {
		t.Errorf("dlq list: exit %d\n%s%s", code, out, errOut)
	}
	// The dead letter itself, in SQS: the transform's event, with the reason.
	if len(letters) != 1 || letters[0].Queue != "transform" {
		t.Fatalf("dead letters of %s: %+v", r.ID, letters)
	}
	m := dead(t, c, p, "transform")
	if reason := aws.ToString(m.MessageAttributes["dead_letter_reason"].StringValue); !strings.Contains(reason, s.Error.Message) {
		t.Errorf("dead letter reason %q, want %q", reason, s.Error.Message)
	}
	var letter struct {
		DetailType string          `json:"detail-type"`
		Detail     messages.RunRef `json:"detail"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &letter); err != nil || letter.DetailType != messages.TypeDatasetIngested || letter.Detail.RunID != r.ID {
		t.Errorf("dead letter body %s: %v", aws.ToString(m.Body), err)
	}
}

const pgExport = `name: pgexport
source: {prefix: landing/pgexport/, format: csv, schema: [{name: id, type: BIGINT, required: true}, {name: amount, type: DOUBLE}]}
transform: {sql: "SELECT id, amount * 2 AS doubled FROM input"}
load: [{dataset: curated, table: pgexport, keys: [id], mode: merge}]
activities:
  - {name: accounts, after: load.curated, copy: {from: "postgres://crm/accounts", to: "lake:exports/accounts/{{run_id}}/"}}
  - name: big_accounts
    after: activity.accounts
    copy:
      from: "postgres://crm"
      query: "SELECT id, upper(name) AS name, balance FROM accounts WHERE balance > 100 ORDER BY id"
      to: "s3://BUCKET/exports/accounts/{{run_id}}/big.parquet"
  - name: inspect
    after: load.curated
    shell:
      dataset: curated
      command: 'cp "$FUSION_DATASET_PATH" "OUT/$FUSION_RUN_ID.parquet" && echo "$FUSION_DATASET_URI" > "OUT/$FUSION_RUN_ID.uri"'
`

// Copies from Postgres (a table, a query) write Parquet objects to S3 —
// lake: and s3:// targets — with the rows selected, and a shell activity
// gets its dataset downloaded from S3, with its s3:// URI.
func TestJobsAWSCopyFromPostgres(t *testing.T) {
	pg, schema, dsn := pgSchema(t)
	createAccounts(t, pg, schema)
	c := awstest.Clients(t)
	prefix, home, out := awstest.Name("f"), t.TempDir(), t.TempDir()
	bucket := prefix + "-lake"
	deployPipelines(t, c, prefix, home, map[string]string{"pgexport.yaml": strings.NewReplacer("BUCKET", bucket, "OUT", out).Replace(pgExport)})
	p, _ := startAWS(t, awsEnv(home, prefix, "FUSION_CONN_CRM="+dsn))

	key := "landing/pgexport/a.csv"
	putObject(t, c, bucket, key, []byte("id,amount\n1,2\n2,5\n3,7.5\n"))
	r := waitRun(t, p, key)
	stepsSucceeded(t, r, map[string]int64{"load.curated": 3, "activity.accounts": 3, "activity.big_accounts": 2, "activity.inspect": -1})

	dir := "exports/accounts/" + r.ID + "/"
	if keys := s3Keys(t, c, bucket, dir); fmt.Sprint(keys) != fmt.Sprintf("[%saccounts.parquet %sbig.parquet]", dir, dir) {
		t.Fatalf("exports in S3: %v", keys)
	}
	checkAccountExports(t, home, s3File(t, c, bucket, dir+"accounts.parquet"), s3File(t, c, bucket, dir+"big.parquet"))

	// The shell activity had the curated dataset downloaded from S3.
	checkShellCopy(t, home, out, r.ID)
	curated := s3Keys(t, c, bucket, "curated/pgexport/"+r.ID+"/")
	uri, _ := os.ReadFile(filepath.Join(out, r.ID+".uri"))
	if len(curated) != 1 || strings.TrimSpace(string(uri)) != "s3://"+bucket+"/"+curated[0] {
		t.Errorf("FUSION_DATASET_URI %q, want s3://%s/ and the curated object of %v", uri, bucket, curated)
	}
}
