package messages

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestParseBodyOfS3Notification(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "aws.s3-notification.json"))
	if err != nil {
		t.Fatal(err)
	}
	envs, err := ParseBody(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(envs) != 1 {
		t.Fatalf("%d envelopes; only the ObjectCreated record counts", len(envs))
	}
	env := envs[0]
	if env.Source != SourceS3 || env.DetailType != DetailTypeObjectCreated || env.Region != "us-west-2" || env.Resources[0] != "arn:aws:s3:::fusion-lake-123456789012" {
		t.Errorf("envelope %+v", env)
	}
	d, err := Decode(env)
	if err != nil {
		t.Fatal(err)
	}
	oc := d.(*ObjectCreated)
	if oc.Object.Key != "landing/churn/customers nov(2026).csv" || oc.Object.Size != 1024 || oc.Object.Sequencer != "0055AED6DCD90281E5" || oc.Reason != "Put" {
		t.Errorf("object %+v", oc)
	}
	// Redelivered, the same record maps to the same event and run.
	again, _ := ParseBody(body)
	if again[0].ID != env.ID || oc.RunID(env.Time) != "20261121-151600-"+oc.RunID(env.Time)[16:] {
		t.Error("not deterministic")
	}
	// Wrapped by SNS (without raw delivery) it is the same event.
	wrapped, _ := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:us-west-2:123456789012:t", "Message": string(body)})
	viaSNS, err := ParseBody(wrapped)
	if err != nil || len(viaSNS) != 1 || viaSNS[0].ID != env.ID {
		t.Errorf("via SNS: %v %v", viaSNS, err)
	}
}

func TestParseBodySkipsTheTestEvent(t *testing.T) {
	body, _ := os.ReadFile(filepath.Join("testdata", "aws.s3-test-event.json"))
	envs, err := ParseBody(body)
	if err != nil || len(envs) != 0 {
		t.Errorf("%v %v", envs, err)
	}
}

func TestParseBodyRejects(t *testing.T) {
	traversal := `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","eventTime":"2026-11-21T00:00:00Z","s3":{"bucket":{"name":"b"},"object":{"key":"landing/..%2F..%2Fetc%2Fpasswd","size":1}}}]}`
	for name, body := range map[string]string{
		"not json":      "<xml/>",
		"unknown shape": `{"hello":"world"}`,
		"traversal":     traversal,
		"bad escape":    `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"a%zz"}}}]}`,
	} {
		envs, err := ParseBody([]byte(body))
		if err == nil && name == "traversal" {
			_, err = Decode(envs[0])
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestClaimCheck(t *testing.T) {
	env, err := New(samples()[TypeDatasetTransformed], at)
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := NewClaimCheck(env, ObjectRef{Bucket: "lake", Key: "claims/x.json", Size: 300000})
	if err != nil {
		t.Fatal(err)
	}
	ref, ok := ClaimOf(claimed)
	if !ok || ref.Key != "claims/x.json" || claimed.DetailType != env.DetailType || claimed.ID != env.ID {
		t.Fatalf("%+v", claimed)
	}
	var routed struct{ Pipeline string }
	json.Unmarshal(claimed.Detail, &routed)
	if routed.Pipeline != "churn" {
		t.Error("the claim check lost the fields rules match on")
	}
	if _, ok := ClaimOf(env); ok {
		t.Error("an ordinary event is a claim check")
	}
}
