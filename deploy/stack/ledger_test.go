package stack

import (
	"strings"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger/dynamoledger"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
)

// The run ledger's table is the one dynamoledger reads and writes, named
// as the configuration expects; only the ledger's role reaches it, with
// no more than it needs, and the ledger may announce late runs.
func TestLedgerTable(t *testing.T) {
	tpl := parse(t)
	table := tpl.Resources[ledgerTableID]
	if table.Type != "AWS::DynamoDB::Table" {
		t.Fatalf("no ledger table: %+v", table)
	}
	p := mustYAML(table.Properties)
	for _, want := range []string{"PAY_PER_REQUEST", "AttributeName: " + dynamoledger.KeyPK, "AttributeName: " + dynamoledger.KeySK,
		"IndexName: " + dynamoledger.IndexRecent, "IndexName: " + dynamoledger.IndexInput, "IndexName: " + dynamoledger.IndexDue,
		"AttributeName: " + dynamoledger.AttrNextCheck, "KEYS_ONLY", "${Prefix}-" + ledgerTableSuffix} {
		if !strings.Contains(p, want) {
			t.Errorf("ledger table lacks %q:\n%s", want, p)
		}
	}
	var cfg config.Config
	cfg.SetDefaults()
	if LedgerTable("fusion") != cfg.LedgerTable {
		t.Errorf("the stack names the table %s, the configuration defaults to %s", LedgerTable("fusion"), cfg.LedgerTable)
	}
	for _, w := range append(append([]string{}, pipeline.Workers...), routing.LedgerQueue) {
		id := logicalID(w)
		policy := mustYAML(tpl.Resources[id+"Role"].Properties["Policies"])
		reaches := strings.Contains(policy, ledgerTableID)
		if reaches != (w == routing.LedgerQueue) {
			t.Errorf("%s: ledger table access %v", w, reaches)
		}
		if w == routing.LedgerQueue {
			for _, want := range []string{"dynamodb:Query", "dynamodb:PutItem", "/index/*", "events:PutEvents", "sns:Publish"} {
				if !strings.Contains(policy, want) {
					t.Errorf("the ledger's role lacks %s:\n%s", want, policy)
				}
			}
			for _, never := range []string{"dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:*", "s3:"} {
				if strings.Contains(policy, never) {
					t.Errorf("the ledger's role grants %s", never)
				}
			}
		}
		container := mustYAML(tpl.Resources[id+"Task"].Properties["ContainerDefinitions"])
		if !strings.Contains(container, "FUSION_LEDGER_TABLE") {
			t.Errorf("%s's task is not told the ledger table", w)
		}
	}
}
