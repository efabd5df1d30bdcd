package stack

import (
	"sort"
	"strings"

	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
)

// Streaming on AWS: the stream queue (and its dead-letter queue) is one of
// queues(); the ingest worker's micro-batcher consumes it and writes each
// micro-batch under its pipeline's landing prefix, where S3 announces it
// to EventBridge like any landed file. The ingest and inference tasks
// serve their HTTP endpoints (stream records, real-time scores, /healthz)
// on httpPort; a load balancer or API Gateway in front of the services is
// the deployment's choice, not the stack's.
const (
	httpPort       = "8080"
	httpPortNumber = 8080
)

// httpWorkers serve HTTP endpoints.
var httpWorkers = map[string]bool{pipeline.WorkerIngest: true, pipeline.WorkerInference: true}

// httpEnv makes a worker that has endpoints serve them.
func httpEnv(w string) []m {
	if !httpWorkers[w] {
		return nil
	}
	return []m{{"Name": "FUSION_HTTP_ADDR", "Value": ":" + httpPort}}
}

func httpPorts(w string) []m {
	if !httpWorkers[w] {
		return nil
	}
	return []m{{"Name": "http", "ContainerPort": httpPortNumber, "Protocol": "tcp"}}
}

// addStreaming lets the ingest worker consume the stream queue, dead-letter
// what it cannot batch, and write micro-batches under each streaming
// pipeline's stream folder (nothing else of landing/).
func addStreaming(add func(string, m), pipelines []*pipeline.Pipeline) {
	statements := []m{
		stmt([]string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"}, arnOf(queueID(routing.StreamQueue))),
		stmt([]string{"sqs:SendMessage", "sqs:GetQueueUrl"}, arnOf(dlqID(routing.StreamQueue))),
	}
	var prefixes []string
	for _, p := range pipelines {
		if b, ok := p.Batching(); ok {
			prefixes = append(prefixes, b.Prefix)
		}
	}
	sort.Strings(prefixes)
	var objs []any
	for _, pre := range prefixes {
		objs = append(objs, objects(strings.TrimSuffix(pre, "/")))
	}
	if len(objs) > 0 {
		statements = append(statements, stmt("s3:PutObject", objs...))
	}
	add("IngestStreamPolicy", m{"Type": "AWS::IAM::Policy", "Properties": m{
		"PolicyName":     "stream-records",
		"Roles":          []any{ref(logicalID(pipeline.WorkerIngest) + "Role")},
		"PolicyDocument": policy(statements...),
	}})
}
