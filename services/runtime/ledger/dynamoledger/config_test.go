package dynamoledger

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/fusiondata/fusion/services/runtime/ledger"
)

func TestConfig(t *testing.T) {
	l, err := New(nil, Config{Table: "fusion-ledger"})
	if err != nil || l.cfg.MaxAttempts != 50 {
		t.Fatalf("%+v %v", l, err)
	}
	if _, err := New(nil, Config{MaxAttempts: -1}); err == nil || !strings.Contains(err.Error(), "no table") || !strings.Contains(err.Error(), "max attempts") {
		t.Errorf("got %v", err)
	}
}

// A run item carries what the indexes need: its start for listing, its
// input once known, and its next check while it has one.
func TestItems(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 15, 16, 0, 123, time.UTC)
	r := ledger.Run{ID: "20261121-151600-3fa9c2", Pipeline: "churn", StartedAt: t0, Deadline: time.Hour, Expected: []string{"ingest"},
		Steps: []ledger.Step{{Name: "ingest", Status: ledger.Started, StartedAt: t0, Attempt: 1}}}
	it := runItem(r, 7)
	if getStr(it, AttrKind) != kindRun || getNum(it, AttrFirstSeen) != t0.UnixNano() || getNum(it, attrVersion) != 7 {
		t.Errorf("run item %v", it)
	}
	if _, ok := it[AttrInput]; ok {
		t.Error("an empty input is an index key; it must be absent")
	}
	if getStr(it, AttrDueQueue) != dueQueue || getNum(it, AttrNextCheck) != t0.Add(time.Hour).UnixNano() {
		t.Errorf("next check %v", it)
	}
	var back ledger.Run
	if v := decodeRun(it, &back); v != 7 || back.ID != r.ID || !back.StartedAt.Equal(t0) || back.Deadline != time.Hour || back.Expected[0] != "ingest" {
		t.Errorf("decoded %+v", back)
	}
	r.Steps[0].Status = ledger.Succeeded // done: no next check
	if _, ok := runItem(r, 8)[AttrNextCheck]; ok {
		t.Error("a finished run has no next check")
	}
	st := stepItem(r.ID, ledger.Step{Name: "ingest", Input: "landing/churn/a.csv", StartedAt: t0})
	if _, ok := st[AttrInput]; ok || getStr(st, attrStepInput) != "landing/churn/a.csv" {
		t.Error("a step's input must stay out of the input index")
	}
	def := CreateTableInput("t")
	if len(def.GlobalSecondaryIndexes) != 3 || aws.ToString(def.GlobalSecondaryIndexes[2].IndexName) != IndexDue {
		t.Errorf("table %+v", def)
	}
}
