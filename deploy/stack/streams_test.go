package stack

import (
	"strings"
	"testing"
)

// The stack has the stream queue with its dead-letter queue, a rule per
// streaming pipeline sending its records there, the ingest role's right
// to consume it and to write micro-batches (only under the streaming
// pipelines' stream folders), and the HTTP port on the ingest and
// inference tasks.
func TestStreamingResources(t *testing.T) {
	tpl := parse(t)
	q, ok := tpl.Resources["StreamQueue"]
	if !ok || q.Type != "AWS::SQS::Queue" || !strings.Contains(mustYAML(q.Properties["RedrivePolicy"]), "StreamDeadLetterQueue") {
		t.Fatalf("stream queue %+v", q)
	}
	rule, ok := tpl.Resources["RuleChurnStreamStreamRecords"]
	if !ok {
		t.Fatal("no rule for churn_stream's records")
	}
	pattern := mustYAML(rule.Properties["EventPattern"])
	for _, want := range []string{"fusion.stream.records.v1", "fusion.stream", "churn_stream"} {
		if !strings.Contains(pattern, want) {
			t.Errorf("the records rule's pattern lacks %s:\n%s", want, pattern)
		}
	}
	if !strings.Contains(mustYAML(rule.Properties["Targets"]), "StreamQueue") {
		t.Errorf("the records rule targets %v", rule.Properties["Targets"])
	}
	if _, ok := tpl.Resources["RuleChurnStreamRecords"]; ok {
		t.Error("churn, which does not stream, has a records rule")
	}
	pol, ok := tpl.Resources["IngestStreamPolicy"]
	if !ok {
		t.Fatal("no stream policy")
	}
	doc := mustYAML(pol.Properties)
	for _, want := range []string{"IngestRole", "sqs:ReceiveMessage", "StreamQueue", "StreamDeadLetterQueue", "s3:PutObject", "/landing/churn_stream/stream/*"} {
		if !strings.Contains(doc, want) {
			t.Errorf("the stream policy lacks %s:\n%s", want, doc)
		}
	}
	if strings.Contains(doc, "/landing/*") || strings.Contains(doc, "/landing/churn/") {
		t.Errorf("the stream policy writes more of landing/ than the stream folders:\n%s", doc)
	}
	for task, serves := range map[string]bool{"IngestTask": true, "InferenceTask": true, "LoaderTask": false} {
		def := mustYAML(tpl.Resources[task].Properties["ContainerDefinitions"])
		if got := strings.Contains(def, "FUSION_HTTP_ADDR") && strings.Contains(def, "8080"); got != serves {
			t.Errorf("%s serves HTTP: %v, want %v", task, got, serves)
		}
	}
}
