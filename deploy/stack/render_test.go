package stack

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/fusiondata/fusion/deploy"
	"github.com/fusiondata/fusion/services/runtime/handled"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
)

var update = flag.Bool("update", false, "rewrite deploy/cloudformation/fusion.yaml")

const committed = "../cloudformation/fusion.yaml"

func render(t *testing.T) []byte {
	t.Helper()
	reg, err := pipeline.NewRegistry(deploy.Pipelines(), "deploy/pipelines")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := Render(reg.All())
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// The committed template is exactly what the pipelines render to: one
// source of truth.
func TestCommittedTemplateIsCurrent(t *testing.T) {
	tpl := render(t)
	if *update {
		if err := os.WriteFile(committed, tpl, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, tpl) {
		t.Fatal("deploy/cloudformation/fusion.yaml is stale: run `go run ./services/fusion deploy render --pipelines deploy/pipelines -o deploy/cloudformation/fusion.yaml`")
	}
}

type template struct {
	Resources map[string]struct {
		Type       string         `yaml:"Type"`
		Properties map[string]any `yaml:"Properties"`
	} `yaml:"Resources"`
}

func parse(t *testing.T) template {
	var tpl template
	if err := yaml.Unmarshal(render(t), &tpl); err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestEveryQueueHasADeadLetterQueue(t *testing.T) {
	tpl := parse(t)
	for _, q := range queues() {
		res, ok := tpl.Resources[queueID(q)]
		if !ok || res.Type != "AWS::SQS::Queue" {
			t.Fatalf("no queue for %s", q)
		}
		redrive, _ := res.Properties["RedrivePolicy"].(map[string]any)
		target, _ := redrive["deadLetterTargetArn"].(map[string]any)
		if att, _ := target["Fn::GetAtt"].([]any); len(att) != 2 || att[0] != dlqID(q) {
			t.Errorf("%s redrives to %v", q, redrive)
		}
		if _, ok := tpl.Resources[dlqID(q)]; !ok {
			t.Errorf("no dead-letter queue for %s", q)
		}
	}
}

func TestRulesRouteTheChurnPipeline(t *testing.T) {
	tpl := parse(t)
	rules := map[string]string{} // rule name -> target queue resource
	for _, res := range tpl.Resources {
		if res.Type != "AWS::Events::Rule" {
			continue
		}
		targets := res.Properties["Targets"].([]any)
		arn := targets[0].(map[string]any)["Arn"].(map[string]any)["Fn::GetAtt"].([]any)
		name := "fusion-" + strings.TrimPrefix(res.Properties["Name"].(map[string]any)["Fn::Sub"].(string), "${Prefix}-")
		rules[name] = arn[0].(string)
		_, onBus := res.Properties["EventBusName"]
		if name == "fusion-ingest-landed-objects" {
			if onBus {
				t.Error("S3 announces objects on the default bus; the ingest rule must listen there")
			}
			if !strings.Contains(mustYAML(res.Properties["EventPattern"]), "LakeBucketName") {
				t.Error("the ingest rule does not filter the lake bucket")
			}
		} else if !onBus {
			t.Errorf("rule %s is not on the fusion bus", name)
		}
	}
	want := map[string]string{
		"fusion-ingest-landed-objects":  "IngestQueue",
		"fusion-ledger-steps":           "LedgerQueue",
		"fusion-churn-transform":        "TransformQueue",
		"fusion-churn-traindata":        "TraindataQueue",
		"fusion-churn-inference":        "InferenceQueue",
		"fusion-churn-load-curated":     "LoaderQueue",
		"fusion-churn-load-predictions": "LoaderQueue",
	}
	for name, queue := range want {
		if rules[name] != queue {
			t.Errorf("rule %s targets %q, want %q", name, rules[name], queue)
		}
	}
}

func TestRolesAreLeastPrivilege(t *testing.T) {
	tpl := parse(t)
	policyOf := func(role string) string {
		res := tpl.Resources[role]
		return mustYAML(res.Properties["Policies"])
	}
	ingest, loader := policyOf("IngestRole"), policyOf("LoaderRole")
	if !strings.Contains(ingest, "/landing/*") || strings.Contains(ingest, "/curated/*") {
		t.Error("ingest's role should reach landing/ and not curated/")
	}
	if strings.Contains(loader, "s3:DeleteObject") || strings.Contains(loader, "/landing/*") {
		t.Error("the loader may not delete objects or read landing/")
	}
	if strings.Contains(ingest, "TransformQueue") {
		t.Error("ingest may not consume the transform queue")
	}
	if strings.Contains(ingest, `Action: '*'`) || strings.Contains(ingest, "s3:*") {
		t.Error("wildcard actions")
	}
}

func TestServicesScaleOnBacklogPerTask(t *testing.T) {
	tpl := parse(t)
	for _, w := range pipeline.Workers {
		id := logicalID(w)
		if tpl.Resources[id+"Service"].Type != "AWS::ECS::Service" || tpl.Resources[id+"Task"].Type != "AWS::ECS::TaskDefinition" {
			t.Fatalf("%s has no service", w)
		}
		policy := mustYAML(tpl.Resources[id+"ScalingPolicy"].Properties)
		if !strings.Contains(policy, "ApproximateNumberOfMessagesVisible") || !strings.Contains(policy, "RunningTaskCount") || !strings.Contains(policy, "backlog / MAX([tasks, 1])") {
			t.Errorf("%s does not scale on backlog per task", w)
		}
		strategy := mustYAML(tpl.Resources[id+"Service"].Properties["CapacityProviderStrategy"])
		if spot := strings.Contains(strategy, "FARGATE_SPOT"); spot != batchWorkers[w] {
			t.Errorf("%s: Fargate Spot %v", w, spot)
		}
	}
	if tpl.Resources["SchedulerRole"].Type != "AWS::IAM::Role" {
		t.Error("no EventBridge Scheduler role")
	}
}

// The workers share one dedup table: keyed by id, paid per request, marks
// expiring by TTL; every worker may read and write its items and is told
// its name; the ledger has no business there.
func TestWorkersShareTheDedupTable(t *testing.T) {
	tpl := parse(t)
	table := tpl.Resources[dedupTableID]
	if table.Type != "AWS::DynamoDB::Table" {
		t.Fatalf("no dedup table: %+v", table)
	}
	p := table.Properties
	key := p["KeySchema"].([]any)[0].(map[string]any)
	ttl := p["TimeToLiveSpecification"].(map[string]any)
	name := p["TableName"].(map[string]any)["Fn::Sub"]
	if p["BillingMode"] != "PAY_PER_REQUEST" || key["AttributeName"] != handled.KeyAttribute || key["KeyType"] != "HASH" ||
		ttl["AttributeName"] != handled.TTLAttribute || ttl["Enabled"] != true || name != "${Prefix}-"+dedupTableSuffix {
		t.Errorf("dedup table %s", mustYAML(p))
	}
	for _, w := range append(append([]string{}, pipeline.Workers...), routing.LedgerQueue) {
		id := logicalID(w)
		policy := mustYAML(tpl.Resources[id+"Role"].Properties["Policies"])
		grants := strings.Contains(policy, "dynamodb:GetItem") && strings.Contains(policy, "dynamodb:PutItem") && strings.Contains(policy, dedupTableID)
		if grants != (w != routing.LedgerQueue) {
			t.Errorf("%s: dedup table access %v", w, grants)
		}
		if strings.Contains(policy, "dynamodb:*") || strings.Contains(policy, "dynamodb:Scan") {
			t.Errorf("%s: more than GetItem and PutItem", w)
		}
		told := false
		container := tpl.Resources[id+"Task"].Properties["ContainerDefinitions"].([]any)[0].(map[string]any)
		for _, e := range container["Environment"].([]any) {
			e := e.(map[string]any)
			if e["Name"] == "FUSION_DEDUP_TABLE" {
				v, _ := e["Value"].(map[string]any)
				told = v["Ref"] == dedupTableID
			}
		}
		if !told {
			t.Errorf("%s's task is not told the dedup table", w)
		}
	}
	if DedupTable("fusion") != "fusion-handled" {
		t.Errorf("DedupTable(fusion) = %s", DedupTable("fusion"))
	}
}

func mustYAML(v any) string {
	b, _ := yaml.Marshal(v)
	return string(b)
}
