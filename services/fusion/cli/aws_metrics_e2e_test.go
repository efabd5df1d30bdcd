//go:build aws

package cli

import (
	"fmt"
	"testing"
	"time"

	"github.com/fusiondata/fusion/services/runtime/awstest"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
)

// TestAWSMetricsReadSQS serves the metrics of workers on the aws tier: a
// bad file's event lands in ingest's SQS dead-letter queue, and the
// dead-letter gauge, read from SQS at most every second, shows it. SQS
// cannot tell the age of its oldest message, so that gauge is absent.
func TestAWSMetricsReadSQS(t *testing.T) {
	c := awstest.Clients(t)
	prefix, bucket := deployStack(t, c)
	p := start(t, config.Config{Home: t.TempDir(), Transport: config.TransportAWS, LakeBucket: bucket, S3PathStyle: true,
		EventBus: prefix, QueuePrefix: prefix + "-", TopicPrefix: prefix + "-", SQSVisibility: 10 * time.Second, Retries: 1,
		MetricsAddr: "127.0.0.1:0", MetricsQueuePoll: time.Second})
	deadline := time.Now().Add(10 * time.Second)
	for p.MetricsAddr() == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	url := "http://" + p.MetricsAddr() + "/metrics"
	eventually(t, url, func(m scraped) []string {
		if n, ok := m.find("fusion_queue_dlq_depth", "queue", "ingest"); !ok || n.GetGauge().GetValue() != 0 {
			return []string{fmt.Sprintf("ingest dead-letter depth before: %v", n)}
		}
		return nil
	})

	key := "landing/churn/bad.csv"
	putObject(t, c, bucket, key, []byte("customer_id\n1\n"))
	if r := waitRun(t, p, key); r.Status != ledger.Failed {
		t.Fatalf("run %+v", r)
	}
	eventually(t, url, func(m scraped) []string {
		var problems []string
		if n := m.value("fusion_queue_dlq_depth", "queue", "ingest"); n != 1 {
			problems = append(problems, fmt.Sprintf("ingest dead-letter depth %v, want 1", n))
		}
		if n := m.value("messaging_client_consumed_messages_total", "worker", "ingest"); n < 1 {
			problems = append(problems, fmt.Sprintf("ingest consumed %v events", n))
		}
		if _, ok := m.find("fusion_queue_oldest_age_seconds"); ok {
			problems = append(problems, "an oldest-message age on SQS")
		}
		return problems
	})
}
