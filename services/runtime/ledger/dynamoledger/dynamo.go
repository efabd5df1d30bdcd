// Package dynamoledger keeps the run ledger (ledger.Store) in a DynamoDB
// table, where every process of an aws-tier deployment sees it: the ledger
// task's home is ephemeral on ECS, and `fusion runs` runs anywhere.
//
// Rules (those of ledger.Ledger and ledger.Deadlines, plus the table's):
//   - one table, one partition per run: the run item (pk RUN#<id>, sk RUN:
//     the run's own facts, its deadline and late-notice state, and a
//     version) and one item per step (sk STEP#<name>, its latest state);
//   - every write reads the run's partition with a consistent Query,
//     decides with the pure rules of package ledger (Apply, Claimable) and
//     writes back on condition that the run item's version is the one it
//     read, bumping it: a step changes in one transaction with its run
//     item, so no concurrent writer, in this process or another, can lose
//     an update or regress a step. A lost race re-reads and decides again;
//   - three global secondary indexes hold keys only: IndexRecent (runs by
//     start, for `fusion runs`), IndexInput (runs by input key, for
//     `fusion ingest --wait`) and IndexDue (sparse: runs with a next check,
//     by its time, for the late checker). Index reads may lag the writes,
//     so what they return is read again from the run's partition;
//   - the table is infrastructure: deploy/ creates it (CreateTableInput
//     is its shape). The ledger process needs dynamodb:Query and
//     dynamodb:PutItem (which a TransactWriteItems of puts is authorized
//     by) on it and its indexes; `fusion runs` needs dynamodb:Query.
package dynamoledger

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/ledger"
)

// API is what the ledger needs of a DynamoDB client (*dynamodb.Client).
type API interface {
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Config configures a ledger.
type Config struct {
	// Table is the DynamoDB table (required).
	Table string
	// MaxAttempts bounds how often one write re-reads after losing a race
	// to a concurrent writer of the same run (default 50).
	MaxAttempts int
}

func (c *Config) setDefaults() {
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 50
	}
}

// Validate reports every bad setting at once.
func (c Config) Validate() error {
	var errs []error
	if c.Table == "" {
		errs = append(errs, errors.New("dynamoledger: no table"))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("dynamoledger: max attempts %d is less than 1", c.MaxAttempts))
	}
	return errors.Join(errs...)
}

// Ledger is a ledger.Store in a DynamoDB table.
type Ledger struct {
	api API
	cfg Config
}

var _ ledger.Store = (*Ledger)(nil)

// New returns the ledger of the table cfg.Table. It does not call DynamoDB.
func New(api API, cfg Config) (*Ledger, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Ledger{api: api, cfg: cfg}, nil
}

// stored is a run as its partition holds it.
type stored struct {
	run     ledger.Run // own facts and recorded steps
	version int64
	found   bool
}

// load reads a run's partition with a consistent read.
func (d *Ledger) load(ctx context.Context, runID string) (stored, error) {
	var s stored
	in := &dynamodb.QueryInput{
		TableName:                 &d.cfg.Table,
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": KeyPK},
		ExpressionAttributeValues: item{":pk": str(pk(runID))},
		ConsistentRead:            aws.Bool(true),
	}
	for {
		out, err := d.api.Query(ctx, in)
		if err != nil {
			return s, fmt.Errorf("dynamoledger: read run %s from %s: %w", runID, d.cfg.Table, err)
		}
		for _, it := range out.Items {
			if getStr(it, KeySK) == runSK {
				s.version, s.found = decodeRun(it, &s.run), true
			} else {
				s.run.Steps = append(s.run.Steps, decodeStep(it))
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return s, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// putRun is the write of a run item on condition that it is still at the
// version read (or still absent).
func (d *Ledger) putRun(s stored) *types.Put {
	p := &types.Put{TableName: &d.cfg.Table, Item: runItem(s.run, s.version+1), ExpressionAttributeNames: map[string]string{}}
	if s.found {
		p.ConditionExpression = aws.String("#v = :v")
		p.ExpressionAttributeNames["#v"] = attrVersion
		p.ExpressionAttributeValues = item{":v": num(s.version)}
	} else {
		p.ConditionExpression = aws.String("attribute_not_exists(#pk)")
		p.ExpressionAttributeNames["#pk"] = KeyPK
	}
	return p
}

// errRace says a concurrent writer changed the run since it was read.
var errRace = errors.New("the run changed since it was read")

// write writes a run item (at s.version+1) and, with it in one
// transaction, the steps given. It returns errRace when the run changed.
func (d *Ledger) write(ctx context.Context, s stored, steps ...ledger.Step) error {
	put := d.putRun(s)
	if len(steps) == 0 {
		_, err := d.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item, ConditionExpression: put.ConditionExpression,
			ExpressionAttributeNames: put.ExpressionAttributeNames, ExpressionAttributeValues: put.ExpressionAttributeValues})
		var failed *types.ConditionalCheckFailedException
		if errors.As(err, &failed) {
			return errRace
		}
		return err
	}
	items := []types.TransactWriteItem{{Put: put}}
	for _, st := range steps {
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &d.cfg.Table, Item: stepItem(s.run.ID, st)}})
	}
	_, err := d.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		for _, r := range canceled.CancellationReasons {
			if code := aws.ToString(r.Code); code == "ConditionalCheckFailed" || code == "TransactionConflict" {
				return errRace
			}
		}
	}
	var conflict *types.TransactionConflictException
	if errors.As(err, &conflict) {
		return errRace
	}
	return err
}

// update reads a run, lets decide change it and writes it back, again
// and again while concurrent writers win the race. decide returns the
// steps to write with the run, and false when there is nothing to write.
func (d *Ledger) update(ctx context.Context, runID string, decide func(*stored) ([]ledger.Step, bool, error)) error {
	for attempt := 1; ; attempt++ {
		s, err := d.load(ctx, runID)
		if err != nil {
			return err
		}
		steps, write, err := decide(&s)
		if err != nil || !write {
			return err
		}
		err = d.write(ctx, s, steps...)
		if !errors.Is(err, errRace) {
			if err != nil {
				return fmt.Errorf("dynamoledger: write run %s to %s: %w", runID, d.cfg.Table, err)
			}
			return nil
		}
		if attempt >= d.cfg.MaxAttempts {
			return fmt.Errorf("dynamoledger: run %s: %w %d times", runID, errRace, attempt)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(1+rand.IntN(10*min(attempt, 10))) * time.Millisecond):
		}
	}
}

func (d *Ledger) Record(ctx context.Context, status string, ev messages.StepEvent, plan ledger.Plan) error {
	return d.update(ctx, ev.RunID, func(s *stored) ([]ledger.Step, bool, error) {
		stepChanged, runChanged := ledger.Apply(&s.run, status, ev, plan)
		if stepChanged {
			return []ledger.Step{ledger.StepOf(status, ev)}, true, nil
		}
		return nil, runChanged, nil
	})
}

func (d *Ledger) Run(ctx context.Context, id string) (ledger.Run, error) {
	s, err := d.load(ctx, id)
	if err != nil {
		return ledger.Run{}, err
	}
	if !s.found {
		return ledger.Run{}, fmt.Errorf("run %s: %w", id, ledger.ErrNotFound)
	}
	return ledger.Assemble(s.run), nil
}

func (d *Ledger) Runs(ctx context.Context, limit int) ([]ledger.Run, error) {
	if limit <= 0 {
		limit = 50
	}
	return d.fromIndex(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String(IndexRecent),
		KeyConditionExpression:    aws.String("#k = :k"),
		ExpressionAttributeNames:  map[string]string{"#k": AttrKind},
		ExpressionAttributeValues: item{":k": str(kindRun)},
		ScanIndexForward:          aws.Bool(false),
	}, limit)
}

func (d *Ledger) RunForInput(ctx context.Context, input string) (ledger.Run, error) {
	runs, err := d.fromIndex(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String(IndexInput),
		KeyConditionExpression:    aws.String("#in = :in"),
		ExpressionAttributeNames:  map[string]string{"#in": AttrInput},
		ExpressionAttributeValues: item{":in": str(input)},
		ScanIndexForward:          aws.Bool(false),
	}, 1)
	if err != nil {
		return ledger.Run{}, err
	}
	if len(runs) == 0 {
		return ledger.Run{}, fmt.Errorf("run of %s: %w", input, ledger.ErrNotFound)
	}
	return runs[0], nil
}

// fromIndex queries an index for up to limit runs and reads each from its
// partition, assembled, in the index's order.
func (d *Ledger) fromIndex(ctx context.Context, in *dynamodb.QueryInput, limit int) ([]ledger.Run, error) {
	in.TableName = &d.cfg.Table
	var runs []ledger.Run
	for {
		in.Limit = aws.Int32(int32(limit - len(runs)))
		out, err := d.api.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("dynamoledger: query %s.%s: %w", d.cfg.Table, aws.ToString(in.IndexName), err)
		}
		for _, it := range out.Items {
			id, err := runIDOf(it)
			if err != nil {
				return nil, err
			}
			s, err := d.load(ctx, id)
			if err != nil {
				return nil, err
			}
			if s.found {
				runs = append(runs, ledger.Assemble(s.run))
			}
		}
		if len(out.LastEvaluatedKey) == 0 || len(runs) >= limit {
			return runs, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
