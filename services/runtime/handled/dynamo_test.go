//go:build aws

package handled_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fusiondata/fusion/services/runtime/awstest"
	"github.com/fusiondata/fusion/services/runtime/handled"
)

// table creates a dedup table on the emulator as deploy/ declares it.
func table(t *testing.T, db *dynamodb.Client) string {
	t.Helper()
	ctx := context.Background()
	name := awstest.Name("handled")
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &name,
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(handled.KeyAttribute), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(handled.KeyAttribute), KeyType: types.KeyTypeHash}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: &name,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(handled.TTLAttribute), Enabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	return name
}

// task is one ECS task's view of the table: its own clients and store.
func task(t *testing.T, tbl string, now func() time.Time) *handled.Dynamo {
	t.Helper()
	s, err := handled.NewDynamo(awstest.Clients(t).DynamoDB, handled.Config{Table: tbl, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func item(t *testing.T, db *dynamodb.Client, tbl, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &tbl, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{handled.KeyAttribute: &types.AttributeValueMemberS{Value: id}}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func str(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	}
	return ""
}

func handledBy(t *testing.T, s *handled.Dynamo, worker, key string) bool {
	t.Helper()
	ok, err := s.Handled(context.Background(), worker, key)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestDynamoDedup runs the worker.Dedup rules against DynamoDB on moto:
// marks are per worker and event, a second mark keeps the first, two
// tasks share marks, and each mark carries its TTL.
func TestDynamoDedup(t *testing.T) {
	ctx := context.Background()
	db := awstest.Clients(t).DynamoDB
	tbl := table(t, db)
	now := time.Date(2026, 11, 21, 15, 16, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a, b := task(t, tbl, clock), task(t, tbl, clock)

	if handledBy(t, a, "transform", "ev-1") {
		t.Fatal("handled before any mark")
	}
	if err := a.MarkHandled(ctx, "transform", "ev-1", "run-1"); err != nil {
		t.Fatal(err)
	}
	if !handledBy(t, a, "transform", "ev-1") {
		t.Error("the marking task does not see its mark")
	}
	// Another task sees the mark at once (consistent reads).
	if !handledBy(t, b, "transform", "ev-1") {
		t.Error("another task does not see the mark")
	}
	// Marks are per worker and per event.
	if handledBy(t, b, "loader", "ev-1") || handledBy(t, b, "transform", "ev-2") {
		t.Error("a mark leaks to another worker or event")
	}
	// Marking again, from either task, succeeds and keeps the first mark.
	if err := b.MarkHandled(ctx, "transform", "ev-1", "run-2"); err != nil {
		t.Errorf("second mark: %v", err)
	}
	if err := a.MarkHandled(ctx, "transform", "ev-1", "run-3"); err != nil {
		t.Errorf("third mark: %v", err)
	}
	it := item(t, db, tbl, "transform/ev-1")
	if str(it["run_id"]) != "run-1" || str(it["handled_at"]) != now.Format(time.RFC3339Nano) {
		t.Errorf("item %v", it)
	}
	exp, ok := it[handled.TTLAttribute].(*types.AttributeValueMemberN)
	if !ok || exp.Value != strconv.FormatInt(now.Add(handled.DefaultRetention).Unix(), 10) {
		t.Errorf("%s = %v, want the number %d", handled.TTLAttribute, it[handled.TTLAttribute], now.Add(handled.DefaultRetention).Unix())
	}

	// Tasks racing to mark one event all succeed; one mark stands.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.MarkHandled(ctx, "loader", "ev-race", "run-"+strconv.Itoa(i))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("racing mark: %v", err)
		}
	}
	if !handledBy(t, a, "loader", "ev-race") {
		t.Error("no mark after the race")
	}
}

// A mark past its retention counts for nothing, though DynamoDB has not
// deleted it yet, and a new mark replaces it.
func TestDynamoDedupExpiry(t *testing.T) {
	ctx := context.Background()
	db := awstest.Clients(t).DynamoDB
	tbl := table(t, db)
	now := time.Date(2026, 11, 21, 15, 16, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, err := handled.NewDynamo(db, handled.Config{Table: tbl, Retention: time.Hour, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkHandled(ctx, "ingest", "ev", "run-1"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(59 * time.Minute)
	mu.Unlock()
	if !handledBy(t, s, "ingest", "ev") {
		t.Error("a mark within its retention is gone")
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if handledBy(t, s, "ingest", "ev") {
		t.Error("an expired mark still counts")
	}
	if err := s.MarkHandled(ctx, "ingest", "ev", "run-2"); err != nil {
		t.Fatal(err)
	}
	if !handledBy(t, s, "ingest", "ev") || str(item(t, db, tbl, "ingest/ev")["run_id"]) != "run-2" {
		t.Errorf("the expired mark was not replaced: %v", item(t, db, tbl, "ingest/ev"))
	}
}

// Without its table the store fails (the runtime then leaves the message
// to be redelivered) instead of answering "not handled".
func TestDynamoDedupWithoutTable(t *testing.T) {
	s := task(t, awstest.Name("missing"), nil)
	var missing *types.ResourceNotFoundException
	if _, err := s.Handled(context.Background(), "ingest", "ev"); !errors.As(err, &missing) {
		t.Errorf("Handled: %v", err)
	}
	if err := s.MarkHandled(context.Background(), "ingest", "ev", "run"); !errors.As(err, &missing) {
		t.Errorf("MarkHandled: %v", err)
	}
}
