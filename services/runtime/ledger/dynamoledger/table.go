package dynamoledger

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/ledger"
)

// The table's keys and indexes (deploy/stack declares the same).
const (
	KeyPK = "pk" // partition key (S): RUN#<run id>
	KeySK = "sk" // sort key (S): RUN, or STEP#<step name>

	// IndexRecent lists runs by start: hash AttrKind, range AttrFirstSeen.
	IndexRecent = "recent"
	// IndexInput finds the runs of an input: hash AttrInput, range AttrFirstSeen.
	IndexInput = "by_input"
	// IndexDue lists runs by next check (sparse): hash AttrDueQueue, range AttrNextCheck.
	IndexDue = "due"

	AttrKind      = "kind"       // S, RUN on run items only
	AttrFirstSeen = "first_seen" // N, unix nanoseconds
	AttrInput     = "input"      // S, the run's input; absent until known
	AttrDueQueue  = "due_queue"  // S, DUE while the run has a next check
	AttrNextCheck = "next_check" // N, unix nanoseconds (ledger.NextCheck)
)

const (
	runSK      = "RUN"
	stepPrefix = "STEP#"
	kindRun    = "RUN"
	dueQueue   = "DUE"

	attrRunID      = "run_id"
	attrPipeline   = "pipeline"
	attrExpected   = "expected" // S, JSON array; absent while unknown
	attrTraceID    = "trace_id"
	attrDeadlineMS = "deadline_ms"
	attrLateAt     = "late_at"
	attrClaimUntil = "claim_until"
	attrNotifiedAt = "notified_at"
	attrVersion    = "version" // N, bumped by every write of the run item

	attrStep      = "step"
	attrWorker    = "worker"
	attrStatus    = "status"
	attrStepInput = "step_input" // not "input": steps stay out of IndexInput
	attrAttempt   = "attempt"
	attrStartedAt = "started_at"
	attrDuration  = "duration_ms"
	attrRowsIn    = "rows_in"
	attrRowsOut   = "rows_out"
	attrBytes     = "bytes"
	attrError     = "error" // S, JSON
)

// CreateTableInput is the table as deploy/ creates it: on-demand, keys
// only in the indexes (reads load the run's partition).
func CreateTableInput(table string) *dynamodb.CreateTableInput {
	s := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	n := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeN}
	}
	keys := func(hash, rng string) []types.KeySchemaElement {
		return []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}, {AttributeName: aws.String(rng), KeyType: types.KeyTypeRange}}
	}
	index := func(name, hash, rng string) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{IndexName: aws.String(name), KeySchema: keys(hash, rng), Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}}
	}
	return &dynamodb.CreateTableInput{
		TableName:              &table,
		BillingMode:            types.BillingModePayPerRequest,
		AttributeDefinitions:   []types.AttributeDefinition{s(KeyPK), s(KeySK), s(AttrKind), n(AttrFirstSeen), s(AttrInput), s(AttrDueQueue), n(AttrNextCheck)},
		KeySchema:              keys(KeyPK, KeySK),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{index(IndexRecent, AttrKind, AttrFirstSeen), index(IndexInput, AttrInput, AttrFirstSeen), index(IndexDue, AttrDueQueue, AttrNextCheck)},
	}
}

func pk(runID string) string { return "RUN#" + runID }

type item = map[string]types.AttributeValue

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// putStr and putTime leave out empty values: an index key may not be
// empty, and absent reads back as empty.
func putStr(it item, name, v string) {
	if v != "" {
		it[name] = str(v)
	}
}

func putTime(it item, name string, t time.Time) {
	if !t.IsZero() {
		it[name] = num(t.UnixNano())
	}
}

func getStr(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getNum(it item, name string) int64 {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

func getTime(it item, name string) time.Time {
	if _, ok := it[name]; !ok {
		return time.Time{}
	}
	return time.Unix(0, getNum(it, name))
}

// runItem encodes a run's own facts and late-notice state (r as stored)
// at a version; view is r assembled, for the next check.
func runItem(r ledger.Run, version int64) item {
	it := item{KeyPK: str(pk(r.ID)), KeySK: str(runSK), AttrKind: str(kindRun), attrRunID: str(r.ID),
		AttrFirstSeen: num(r.StartedAt.UnixNano()), attrVersion: num(version)}
	putStr(it, attrPipeline, r.Pipeline)
	putStr(it, AttrInput, r.Input)
	putStr(it, attrTraceID, r.TraceID)
	if r.Expected != nil {
		b, _ := json.Marshal(r.Expected)
		it[attrExpected] = str(string(b))
	}
	if r.Deadline > 0 {
		it[attrDeadlineMS] = num(r.Deadline.Milliseconds())
	}
	putTime(it, attrLateAt, r.LateAt)
	putTime(it, attrClaimUntil, r.LateClaimUntil)
	putTime(it, attrNotifiedAt, r.LateNotifiedAt)
	if next := ledger.NextCheck(ledger.Assemble(r)); !next.IsZero() {
		it[AttrDueQueue], it[AttrNextCheck] = str(dueQueue), num(next.UnixNano())
	}
	return it
}

func decodeRun(it item, r *ledger.Run) (version int64) {
	r.ID = getStr(it, attrRunID)
	r.Pipeline = getStr(it, attrPipeline)
	r.Input = getStr(it, AttrInput)
	r.TraceID = getStr(it, attrTraceID)
	r.StartedAt = getTime(it, AttrFirstSeen)
	if e := getStr(it, attrExpected); e != "" {
		json.Unmarshal([]byte(e), &r.Expected)
	}
	r.Deadline = time.Duration(getNum(it, attrDeadlineMS)) * time.Millisecond
	r.LateAt, r.LateClaimUntil, r.LateNotifiedAt = getTime(it, attrLateAt), getTime(it, attrClaimUntil), getTime(it, attrNotifiedAt)
	return getNum(it, attrVersion)
}

func stepItem(runID string, st ledger.Step) item {
	it := item{KeyPK: str(pk(runID)), KeySK: str(stepPrefix + st.Name), attrStep: str(st.Name), attrStatus: str(st.Status),
		attrAttempt: num(int64(st.Attempt)), attrStartedAt: num(st.StartedAt.UnixNano()), attrDuration: num(st.DurationMS),
		attrRowsIn: num(st.RowsIn), attrRowsOut: num(st.RowsOut), attrBytes: num(st.Bytes)}
	putStr(it, attrWorker, st.Worker)
	putStr(it, attrStepInput, st.Input)
	if st.Error != nil {
		b, _ := json.Marshal(st.Error)
		it[attrError] = str(string(b))
	}
	return it
}

func decodeStep(it item) ledger.Step {
	st := ledger.Step{Name: getStr(it, attrStep), Worker: getStr(it, attrWorker), Status: getStr(it, attrStatus), Input: getStr(it, attrStepInput),
		Attempt: int(getNum(it, attrAttempt)), StartedAt: getTime(it, attrStartedAt), DurationMS: getNum(it, attrDuration),
		RowsIn: getNum(it, attrRowsIn), RowsOut: getNum(it, attrRowsOut), Bytes: getNum(it, attrBytes)}
	if e := getStr(it, attrError); e != "" {
		st.Error = &messages.StepError{}
		json.Unmarshal([]byte(e), st.Error)
	}
	return st
}

// runIDOf reads the run id from an index item's table key.
func runIDOf(it item) (string, error) {
	id, ok := strings.CutPrefix(getStr(it, KeyPK), "RUN#")
	if !ok {
		return "", fmt.Errorf("dynamoledger: index item without a run key: %v", it[KeyPK])
	}
	return id, nil
}
