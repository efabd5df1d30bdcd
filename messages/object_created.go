package messages

import (
	"errors"
	"fmt"
	"time"
)

// ObjectCreated is the detail of S3's EventBridge "Object Created" event
// (source aws.s3). The embedded lake emits the same event when a file lands,
// so ingest consumes one shape on every tier. AWS may add fields at any
// time, so unknown fields are accepted for this contract.
type ObjectCreated struct {
	Version         string        `json:"version"`
	Bucket          BucketName    `json:"bucket"`
	Object          CreatedObject `json:"object"`
	RequestID       string        `json:"request-id,omitempty"`
	Requester       string        `json:"requester,omitempty"`
	SourceIPAddress string        `json:"source-ip-address,omitempty"`
	Reason          string        `json:"reason,omitempty"`
}

// BucketName is the bucket block of an S3 event.
type BucketName struct {
	Name string `json:"name"`
}

// CreatedObject is the object block of an S3 "Object Created" event.
type CreatedObject struct {
	Key       string `json:"key"`
	Size      int64  `json:"size"`
	ETag      string `json:"etag,omitempty"`
	VersionID string `json:"version-id,omitempty"`
	Sequencer string `json:"sequencer,omitempty"`
}

const (
	// DetailTypeObjectCreated is S3's detail-type for new objects.
	DetailTypeObjectCreated = "Object Created"
	// SourceS3 is the source of S3's EventBridge events.
	SourceS3 = "aws.s3"
)

func init() { registerLenient[ObjectCreated](DetailTypeObjectCreated, SourceS3) }

// IdentityKey is the object version the event announces.
func (o *ObjectCreated) IdentityKey() string {
	return o.Bucket.Name + "/" + o.Object.Key + "@" + o.Object.Sequencer + o.Object.ETag
}

// Validate rejects events whose key could escape the lake.
func (o *ObjectCreated) Validate() error {
	if o.Bucket.Name == "" {
		return errors.New("bucket.name is empty")
	}
	if err := ValidKey(o.Object.Key); err != nil {
		return fmt.Errorf("object.key: %w", err)
	}
	return nil
}

// RunID is the id of the run this object starts (see RunIDForObject).
func (o *ObjectCreated) RunID(at time.Time) string {
	seq := o.Object.Sequencer
	if seq == "" {
		seq = o.Object.ETag
	}
	return RunIDForObject(o.Bucket.Name, o.Object.Key, seq, at)
}

// NewObjectCreated builds the envelope S3 would send for a new object.
func NewObjectCreated(bucket string, obj CreatedObject, at time.Time) (Envelope, error) {
	return newObjectCreated(&ObjectCreated{Version: "0", Bucket: BucketName{Name: bucket}, Object: obj, Reason: "PutObject"}, at)
}

func newObjectCreated(d *ObjectCreated, at time.Time) (Envelope, error) {
	env, err := New(d, at)
	if err != nil {
		return Envelope{}, err
	}
	env.Resources = []string{"arn:aws:s3:::" + d.Bucket.Name}
	return env, nil
}
