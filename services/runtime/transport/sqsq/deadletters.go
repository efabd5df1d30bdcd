package sqsq

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/fusiondata/fusion/services/runtime/transport"
)

// DeadLetters are the SQS dead-letter queues (<prefix><queue>-dlq) of the
// named worker queues.
//
// SQS cannot peek: List receives the messages and makes each visible again
// at once, until receives bring nothing new.
// Redrive receives the chosen ones again (hidden for a while), sends each
// to its source queue and then deletes it from the dead-letter queue; the
// others are made visible again at once.
type DeadLetters struct {
	client *sqs.Client
	urls   *urlCache
	queues []string
}

var _ transport.DeadLetterQueues = (*DeadLetters)(nil)

// NewDeadLetters returns the dead-letter queues of the given worker queues.
func NewDeadLetters(client *sqs.Client, prefix string, queues []string) *DeadLetters {
	return &DeadLetters{client: client, urls: newURLCache(client, prefix), queues: queues}
}

func (d *DeadLetters) List(ctx context.Context) ([]transport.DeadLetter, error) {
	var out []transport.DeadLetter
	for _, q := range d.queues {
		url, err := d.urls.get(ctx, q+"-dlq", false)
		if isMissingQueue(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for quiet := 0; quiet < 3; {
			got, err := d.receive(ctx, url, 30)
			if err != nil {
				return nil, err
			}
			for _, m := range got {
				d.release(ctx, url, m)
			}
			fresh := 0
			for _, m := range got {
				id := aws.ToString(m.MessageId)
				if seen[id] {
					continue
				}
				seen[id] = true
				fresh++
				out = append(out, letter(q, m))
			}
			if fresh == 0 {
				quiet++
			}
		}
	}
	return out, nil
}

func (d *DeadLetters) Redrive(ctx context.Context, letters []transport.DeadLetter) error {
	byQueue := map[string]map[string]bool{}
	for _, l := range letters {
		if byQueue[l.Queue] == nil {
			byQueue[l.Queue] = map[string]bool{}
		}
		byQueue[l.Queue][l.Handle] = true
	}
	for q, want := range byQueue {
		dlq, err := d.urls.get(ctx, q+"-dlq", false)
		if err != nil {
			return err
		}
		src, err := d.urls.get(ctx, q, false)
		if err != nil {
			return err
		}
		for quiet := 0; len(want) > 0 && quiet < 3; {
			got, err := d.receive(ctx, dlq, 30)
			if err != nil {
				return err
			}
			if len(got) == 0 {
				quiet++
			}
			for _, m := range got {
				id := aws.ToString(m.MessageId)
				if !want[id] {
					d.release(ctx, dlq, m) // not chosen
					continue
				}
				if err := d.send(ctx, src, letter(q, m)); err != nil {
					return err
				}
				if _, err := d.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &dlq, ReceiptHandle: m.ReceiptHandle}); err != nil {
					return fmt.Errorf("redrive %s: delete from %s-dlq: %w", id, q, err)
				}
				delete(want, id)
			}
		}
		if len(want) > 0 {
			return fmt.Errorf("redrive: %d dead letters of %s were not found again (received meanwhile by another client?)", len(want), q)
		}
	}
	return nil
}

func (d *DeadLetters) receive(ctx context.Context, url string, visibility int32) ([]types.Message, error) {
	out, err := d.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: &url, MaxNumberOfMessages: 10, VisibilityTimeout: visibility,
		MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameSentTimestamp},
	})
	if err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// release makes a received message visible again at once. (A receive
// cannot ask for a zero visibility timeout: the SDK omits a zero.)
func (d *DeadLetters) release(ctx context.Context, url string, m types.Message) {
	d.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
}

// send puts a dead letter back on its queue: its body, its watermill id and
// its event metadata, without the reasons it died.
func (d *DeadLetters) send(ctx context.Context, url string, l transport.DeadLetter) error {
	_, payload, md := l.Redriven()
	attrs := map[string]types.MessageAttributeValue{}
	if id := l.Metadata[uuidAttribute]; id != "" {
		attrs[uuidAttribute] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(id)}
	}
	for k, v := range md {
		attrs[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	_, err := d.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String(string(payload)), MessageAttributes: attrs})
	return err
}

func letter(queue string, m types.Message) transport.DeadLetter {
	md := map[string]string{}
	for k, v := range m.MessageAttributes {
		md[k] = aws.ToString(v.StringValue)
	}
	return transport.DeadLetter{Handle: aws.ToString(m.MessageId), Queue: queue, ID: md[uuidAttribute],
		Payload: []byte(aws.ToString(m.Body)), Metadata: md, At: sentAt(m)}
}

func isMissingQueue(err error) bool {
	var nq *types.QueueDoesNotExist
	return errors.As(err, &nq) || (err != nil && strings.Contains(err.Error(), "NonExistentQueue"))
}

// sentAt is when the message was sent to the dead-letter queue.
func sentAt(m types.Message) time.Time {
	ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
