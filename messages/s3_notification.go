package messages

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// s3Notification is S3's classic event notification, as S3 delivers it to
// an SQS queue or SNS topic: a batch of Records, or a one-off s3:TestEvent
// when the notification is configured.
type s3Notification struct {
	Records []s3Record `json:"Records"`
	Service string     `json:"Service"`
	Event   string     `json:"Event"`
}

type s3Record struct {
	EventSource string    `json:"eventSource"`
	AWSRegion   string    `json:"awsRegion"`
	EventTime   time.Time `json:"eventTime"`
	EventName   string    `json:"eventName"`
	S3          struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       string `json:"key"`
			Size      int64  `json:"size"`
			ETag      string `json:"eTag"`
			VersionID string `json:"versionId"`
			Sequencer string `json:"sequencer"`
		} `json:"object"`
	} `json:"s3"`
}

// snsNotification is a message SNS delivers to SQS without raw delivery.
type snsNotification struct {
	Type     string `json:"Type"`
	Message  string `json:"Message"`
	TopicArn string `json:"TopicArn"`
}

// ParseBody reads a queued message body into the envelopes it carries. It
// accepts an EventBridge envelope (what EventBridge delivers to SQS), S3's
// classic notification (Records[]: each ObjectCreated record becomes the
// "Object Created" envelope S3 would send to EventBridge, so ingest sees one
// shape), and either of them wrapped in an SNS notification. S3's
// s3:TestEvent and records of other events yield no envelope.
func ParseBody(body []byte) ([]Envelope, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case probe["detail-type"] != nil:
		env, err := Parse(body)
		if err != nil {
			return nil, err
		}
		return []Envelope{env}, nil
	case probe["Records"] != nil || probe["Event"] != nil:
		return fromS3Notification(body)
	case probe["Type"] != nil && probe["Message"] != nil:
		var n snsNotification
		if err := json.Unmarshal(body, &n); err != nil || n.Type != "Notification" {
			return nil, fmt.Errorf("%w: an SNS message that is not a notification", ErrMalformed)
		}
		return ParseBody([]byte(n.Message))
	}
	return nil, fmt.Errorf("%w: neither an EventBridge event nor an S3 notification", ErrMalformed)
}

func fromS3Notification(body []byte) ([]Envelope, error) {
	var n s3Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, fmt.Errorf("%w: S3 notification: %v", ErrMalformed, err)
	}
	if n.Event == "s3:TestEvent" {
		return nil, nil
	}
	var out []Envelope
	for i, r := range n.Records {
		if r.EventSource != "aws:s3" || !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			continue
		}
		// Classic notifications URL-encode the key (a space is "+").
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: S3 notification record %d: key %q: %v", ErrMalformed, i, r.S3.Object.Key, err)
		}
		env, err := newObjectCreated(&ObjectCreated{
			Version: "0", Bucket: BucketName{Name: r.S3.Bucket.Name}, Reason: strings.TrimPrefix(r.EventName, "ObjectCreated:"),
			Object: CreatedObject{Key: key, Size: r.S3.Object.Size, ETag: strings.Trim(r.S3.Object.ETag, `"`), VersionID: r.S3.Object.VersionID, Sequencer: r.S3.Object.Sequencer},
		}, r.EventTime)
		if err != nil {
			return nil, err
		}
		env.Region = r.AWSRegion
		out = append(out, env)
	}
	return out, nil
}
