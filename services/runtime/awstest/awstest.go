// Package awstest connects tests of the aws tier to the emulator that
// scripts/test.sh starts (moto server on loopback, AWS_ENDPOINT_URL).
package awstest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/fusiondata/fusion/services/runtime/awsenv"
)

// Endpoint is the emulator's URL. Tests of the aws tier run only under
// scripts/test.sh aws, which always sets it; without it they fail loudly.
func Endpoint(t testing.TB) string {
	t.Helper()
	ep := os.Getenv("AWS_ENDPOINT_URL")
	if ep == "" {
		t.Fatal("AWS_ENDPOINT_URL is not set: run the aws tier with scripts/test.sh aws, which starts moto")
	}
	if !strings.HasPrefix(ep, "http://127.0.0.1:") {
		t.Fatalf("AWS_ENDPOINT_URL=%s: tests only talk to an emulator on loopback", ep)
	}
	return ep
}

// Clients returns clients for the emulator.
func Clients(t testing.TB) awsenv.Clients {
	t.Helper()
	Endpoint(t)
	c, err := awsenv.Load(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var seq atomic.Int64

// Name returns a name unique within the test run, for buckets and queues.
func Name(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1_000_000_000, seq.Add(1))
}

// Bucket creates a new empty bucket.
func Bucket(t testing.TB, c awsenv.Clients) string {
	t.Helper()
	name := Name("lake")
	if _, err := c.S3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	return name
}
