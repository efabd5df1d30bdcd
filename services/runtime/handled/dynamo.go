// Package handled keeps the runtime's deduplication marks (worker.Dedup)
// where every task of a deployment sees them: in a DynamoDB table. On the
// aws tier each ECS task has a home of its own, so the home's metastore
// cannot tell one task that another already handled an event.
//
// Rules (those of worker.Dedup, plus the table's):
//   - an item is one mark: partition key id = worker + "/" + event key (a
//     string), with run_id, handled_at (RFC 3339) and expires_at (epoch
//     seconds, the table's TTL attribute);
//   - MarkHandled writes the item only if there is none (a conditional
//     PutItem): an existing mark is success, and the first run id stays;
//   - Handled reads with ConsistentRead, so a mark written by one task is
//     seen by the next read of any other;
//   - a mark lasts Retention (default 14 days, SQS's longest retention:
//     past it no redelivery of the event can arrive). DynamoDB deletes
//     expired items lazily, so Handled ignores an item past expires_at and
//     MarkHandled overwrites one;
//   - the table is infrastructure: deploy/ creates it (PAY_PER_REQUEST,
//     TTL on expires_at); a worker only needs dynamodb:GetItem and
//     dynamodb:PutItem on it.
package handled

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attributes of a mark.
const (
	KeyAttribute = "id"         // partition key (S)
	TTLAttribute = "expires_at" // the table's TTL attribute (N, epoch seconds)
	attrRunID    = "run_id"
	attrAt       = "handled_at"
)

// DefaultRetention is how long a mark lasts unless configured: 14 days,
// the longest an SQS queue keeps a message.
const DefaultRetention = 14 * 24 * time.Hour

// API is what the store needs of a DynamoDB client (*dynamodb.Client).
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// Config configures a Dynamo store.
type Config struct {
	// Table is the DynamoDB table (required).
	Table string
	// Retention is how long a mark lasts (default DefaultRetention).
	Retention time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports every bad setting at once.
func (c Config) Validate() error {
	var errs []error
	if c.Table == "" {
		errs = append(errs, errors.New("handled: no table"))
	}
	if c.Retention < time.Minute {
		errs = append(errs, fmt.Errorf("handled: retention %v is shorter than a minute", c.Retention))
	}
	return errors.Join(errs...)
}

// Dynamo is a worker.Dedup in a DynamoDB table.
type Dynamo struct {
	api API
	cfg Config
}

// NewDynamo returns the store of the table cfg.Table. It does not call
// DynamoDB.
func NewDynamo(api API, cfg Config) (*Dynamo, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Dynamo{api: api, cfg: cfg}, nil
}

func itemID(worker, eventKey string) types.AttributeValue {
	return &types.AttributeValueMemberS{Value: worker + "/" + eventKey}
}

// Handled reports whether worker handled the event to the end.
func (d *Dynamo) Handled(ctx context.Context, worker, eventKey string) (bool, error) {
	out, err := d.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                &d.cfg.Table,
		Key:                      map[string]types.AttributeValue{KeyAttribute: itemID(worker, eventKey)},
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#id, #exp"),
		ExpressionAttributeNames: map[string]string{"#id": KeyAttribute, "#exp": TTLAttribute},
	})
	if err != nil {
		return false, fmt.Errorf("handled: get %s/%s from %s: %w", worker, eventKey, d.cfg.Table, err)
	}
	if out.Item == nil {
		return false, nil
	}
	if exp, ok := out.Item[TTLAttribute].(*types.AttributeValueMemberN); ok {
		if at, err := strconv.ParseInt(exp.Value, 10, 64); err == nil && at <= d.cfg.Now().Unix() {
			return false, nil // expired, not yet deleted
		}
	}
	return true, nil
}

// MarkHandled records that worker handled the event to the end.
func (d *Dynamo) MarkHandled(ctx context.Context, worker, eventKey, runID string) error {
	now := d.cfg.Now().UTC()
	_, err := d.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &d.cfg.Table,
		Item: map[string]types.AttributeValue{
			KeyAttribute: itemID(worker, eventKey),
			attrRunID:    &types.AttributeValueMemberS{Value: runID},
			attrAt:       &types.AttributeValueMemberS{Value: now.Format(time.RFC3339Nano)},
			TTLAttribute: &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(d.cfg.Retention).Unix(), 10)},
		},
		ConditionExpression:       aws.String("attribute_not_exists(#id) OR #exp <= :now"),
		ExpressionAttributeNames:  map[string]string{"#id": KeyAttribute, "#exp": TTLAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)}},
	})
	var marked *types.ConditionalCheckFailedException
	if errors.As(err, &marked) {
		return nil // already marked
	}
	if err != nil {
		return fmt.Errorf("handled: mark %s/%s in %s: %w", worker, eventKey, d.cfg.Table, err)
	}
	return nil
}
