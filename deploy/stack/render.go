// Package stack renders fusion's AWS stack as one CloudFormation template —
// event bus and rules, queues with dead-letter queues, the failures topic,
// the lake bucket, the workers' dedup table, the run ledger's table, and an
// ECS cluster with a Fargate service per worker — from the same pipeline and routing
// definitions the embedded tier runs, and deploys it.
package stack

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/fusiondata/fusion/services/runtime/handled"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
)

// m is a CloudFormation object.
type m = map[string]any

func ref(name string) m         { return m{"Ref": name} }
func getAtt(res, attr string) m { return m{"Fn::GetAtt": []string{res, attr}} }
func sub(s string) m            { return m{"Fn::Sub": s} }
func join(parts ...any) m       { return m{"Fn::Join": []any{"", parts}} }
func prefixed(name string) m    { return sub("${Prefix}-" + name) }
func arnOf(resource string) m   { return getAtt(resource, "Arn") }
func logicalID(s string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// Queues are the queues that receive routed events: one per worker, the
// ledger's, the stream records' (the ingest worker's micro-batcher), and
// each topic's subscribers.
func queues() []string {
	q := append([]string{}, pipeline.Workers...)
	q = append(q, routing.LedgerQueue, routing.StreamQueue)
	for _, t := range routing.Topics() {
		q = append(q, t.Queues...)
	}
	return q
}

// The dedup table: its logical id, and its name after the prefix
// (config.Config.DedupTable's default: <queue prefix>handled).
const (
	dedupTableID     = "HandledTable"
	dedupTableSuffix = "handled"
)

// DedupTable is the name of a deployment's dedup table.
func DedupTable(prefix string) string { return prefix + "-" + dedupTableSuffix }

func queueID(q string) string { return logicalID(q) + "Queue" }
func dlqID(q string) string   { return logicalID(q) + "DeadLetterQueue" }

// batchWorkers may run on Fargate Spot: their work is idempotent and an
// interrupted task's messages return to the queue.
var batchWorkers = map[string]bool{pipeline.WorkerTransform: true, pipeline.WorkerTraindata: true, pipeline.WorkerInference: true}

// zones says which lake prefixes a worker reads and writes: the basis of
// its least-privilege role.
var zones = map[string]struct{ read, write, delete []string }{
	pipeline.WorkerIngest:    {read: []string{"landing", "raw", "models"}, write: []string{"raw", "quarantine", "claims"}, delete: []string{"landing"}},
	pipeline.WorkerTransform: {read: []string{"raw"}, write: []string{"curated", "quarantine", "claims"}},
	pipeline.WorkerTraindata: {read: []string{"curated"}, write: []string{"training", "quarantine", "claims"}},
	pipeline.WorkerInference: {read: []string{"curated", "training", "models"}, write: []string{"predictions", "quarantine", "claims"}},
	pipeline.WorkerLoader:    {read: []string{"curated", "predictions"}, write: []string{"quarantine", "claims"}},
}

// Render returns the template for the given pipelines as YAML.
func Render(pipelines []*pipeline.Pipeline) ([]byte, error) {
	rules := routing.ForPipelines(pipelines)
	if _, err := routing.NewTable(rules); err != nil {
		return nil, err
	}
	res := m{}
	add := func(id string, r m) {
		if _, dup := res[id]; dup {
			panic("stack: duplicate resource " + id)
		}
		res[id] = r
	}

	add("Bus", m{"Type": "AWS::Events::EventBus", "Properties": m{"Name": ref("Prefix")}})
	add("LakeBucket", m{
		"Type":           "AWS::S3::Bucket",
		"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
		"Properties": m{
			"BucketName": ref("LakeBucketName"),
			// New objects are announced on the default bus ("Object Created").
			"NotificationConfiguration":      m{"EventBridgeConfiguration": m{"EventBridgeEnabled": true}},
			"BucketEncryption":               m{"ServerSideEncryptionConfiguration": []m{{"ServerSideEncryptionByDefault": m{"SSEAlgorithm": "AES256"}}}},
			"PublicAccessBlockConfiguration": m{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
			"LifecycleConfiguration": m{"Rules": []m{
				{"Id": "expire-claim-checks", "Status": "Enabled", "Prefix": "claims/", "ExpirationInDays": 14},
				{"Id": "abort-incomplete-uploads", "Status": "Enabled", "AbortIncompleteMultipartUpload": m{"DaysAfterInitiation": 2}},
			}},
		},
	})

	// The events each worker handled, shared by all its tasks (see
	// services/runtime/handled); marks expire by TTL.
	add(dedupTableID, m{"Type": "AWS::DynamoDB::Table", "Properties": m{
		"TableName":               prefixed(dedupTableSuffix),
		"BillingMode":             "PAY_PER_REQUEST",
		"AttributeDefinitions":    []m{{"AttributeName": handled.KeyAttribute, "AttributeType": "S"}},
		"KeySchema":               []m{{"AttributeName": handled.KeyAttribute, "KeyType": "HASH"}},
		"TimeToLiveSpecification": m{"AttributeName": handled.TTLAttribute, "Enabled": true},
	}})

	// The run ledger, shared by the ledger task and `fusion runs` (see
	// services/runtime/ledger/dynamoledger).
	add(ledgerTableID, ledgerTable())

	for _, q := range queues() {
		add(dlqID(q), m{"Type": "AWS::SQS::Queue", "Properties": m{
			"QueueName": prefixed(q + "-dlq"), "MessageRetentionPeriod": 1209600,
		}})
		add(queueID(q), m{"Type": "AWS::SQS::Queue", "Properties": m{
			"QueueName":                     prefixed(q),
			"VisibilityTimeout":             60,
			"MessageRetentionPeriod":        1209600,
			"ReceiveMessageWaitTimeSeconds": 20,
			"RedrivePolicy":                 m{"deadLetterTargetArn": arnOf(dlqID(q)), "maxReceiveCount": 5},
		}})
	}

	var ruleArns []any
	for _, r := range rules {
		if r.IsTopic() {
			continue // topics are published to directly; see the subscriptions below
		}
		var pattern map[string]any
		if err := json.Unmarshal(r.Pattern, &pattern); err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.Name, err)
		}
		props := m{
			// Rule names carry the stack's prefix: the ingest rule lives on
			// the account's shared default bus.
			"Name":         prefixed(strings.TrimPrefix(r.Name, "fusion-")),
			"Description":  r.Description,
			"State":        "ENABLED",
			"EventPattern": pattern,
			"Targets":      []m{{"Id": "queue", "Arn": arnOf(queueID(r.Target))}},
		}
		if fromS3(pattern) {
			// S3 announces objects on the account's default bus; only
			// this stack's lake bucket starts runs.
			detail, _ := pattern["detail"].(map[string]any)
			detail["bucket"] = m{"name": []any{ref("LakeBucketName")}}
		} else {
			props["EventBusName"] = getAtt("Bus", "Name")
		}
		id := "Rule" + logicalID(strings.TrimPrefix(r.Name, "fusion-"))
		add(id, m{"Type": "AWS::Events::Rule", "Properties": props})
		ruleArns = append(ruleArns, arnOf(id))
	}

	var topicArns []any
	for _, t := range routing.Topics() {
		id := logicalID(t.Name) + "Topic"
		add(id, m{"Type": "AWS::SNS::Topic", "Properties": m{"TopicName": prefixed(t.Name)}})
		topicArns = append(topicArns, ref(id))
		for _, q := range t.Queues {
			add(logicalID(t.Name)+logicalID(q)+"Subscription", m{"Type": "AWS::SNS::Subscription", "Properties": m{
				"TopicArn": ref(id), "Protocol": "sqs", "Endpoint": arnOf(queueID(q)), "RawMessageDelivery": true,
			}})
		}
	}

	// EventBridge rules and SNS topics may send to the queues.
	var queueRefs []any
	for _, q := range queues() {
		queueRefs = append(queueRefs, ref(queueID(q)))
	}
	add("QueuePolicy", m{"Type": "AWS::SQS::QueuePolicy", "Properties": m{
		"Queues": queueRefs,
		"PolicyDocument": m{"Version": "2012-10-17", "Statement": []m{
			{"Sid": "EventBridgeRules", "Effect": "Allow", "Principal": m{"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
				"Resource": "*", "Condition": m{"ArnEquals": m{"aws:SourceArn": ruleArns}}},
			{"Sid": "Topics", "Effect": "Allow", "Principal": m{"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
				"Resource": "*", "Condition": m{"ArnEquals": m{"aws:SourceArn": topicArns}}},
		}},
	}})

	addCompute(add)
	addSchedules(add, pipelines)      // schedules.go
	addSnapshotReads(add, pipelines)  // snapshots.go
	addActivityAccess(add, pipelines) // activities.go
	addStreaming(add, pipelines)      // streams.go

	out := m{
		"AWSTemplateFormatVersion": "2010-09-09",
		"Description":              "fusion: event bus and rules, queues with dead-letter queues, the lake bucket, and a Fargate service per worker. Rendered by `fusion deploy render` from the pipeline definitions; do not edit by hand.",
		"Parameters":               parameters(),
		"Resources":                res,
		"Outputs":                  outputs(),
	}
	var b strings.Builder
	b.WriteString("# Rendered by `fusion deploy render` from deploy/pipelines and the routing rules.\n# Do not edit: change the pipelines, then render again.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

func fromS3(pattern map[string]any) bool {
	src, _ := pattern["source"].([]any)
	return len(src) == 1 && src[0] == "aws.s3"
}

func parameters() m {
	return m{
		"Prefix":         m{"Type": "String", "Default": "fusion", "AllowedPattern": "^[a-z][a-z0-9-]{0,20}$", "Description": "Names the bus, queues, topics, roles and services"},
		"LakeBucketName": m{"Type": "String", "AllowedPattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", "Description": "The lake's S3 bucket (created by this stack)"},
		"Image":          m{"Type": "String", "Default": "fusion:latest", "Description": "The worker image (Dockerfile at the repository root)"},
		"Subnets":        m{"Type": "CommaDelimitedList", "Description": "Subnets the Fargate tasks run in"},
		"SecurityGroups": m{"Type": "CommaDelimitedList", "Description": "Security groups of the Fargate tasks (egress to AWS APIs)"},
		"MaxTasks":       m{"Type": "Number", "Default": 10, "MinValue": 1, "Description": "Most tasks one worker scales out to"},
		"BacklogPerTask": m{"Type": "Number", "Default": 20, "MinValue": 1, "Description": "Queued messages per running task the autoscaling aims for"},
	}
}

func outputs() m {
	o := m{
		"BusName":     m{"Value": getAtt("Bus", "Name")},
		"LakeBucket":  m{"Value": ref("LakeBucket")},
		"Cluster":     m{"Value": ref("Cluster")},
		"DedupTable":  m{"Value": ref(dedupTableID)},
		"LedgerTable": m{"Value": ref(ledgerTableID)},
		// apply reads it to make sure of the schedules (schedules_apply.go).
		"SchedulerRoleArn": m{"Value": arnOf("SchedulerRole")},
	}
	keys := queues()
	sort.Strings(keys)
	for _, q := range keys {
		o[queueID(q)+"Url"] = m{"Value": ref(queueID(q))}
	}
	return o
}
