//go:build aws

package dynamoledger_test

import (
	"context"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/awstest"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/ledger/dynamoledger"
	"github.com/fusiondata/fusion/services/runtime/ledger/ledgertest"
)

// The DynamoDB ledger passes the conformance suite on moto; each test has
// a table of its own, and another handle is another client, as another
// ECS task has.
func TestLedgerConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) (ledger.Store, func() ledger.Store) {
		table := awstest.Name("ledger")
		if _, err := awstest.Clients(t).DynamoDB.CreateTable(context.Background(), dynamoledger.CreateTableInput(table)); err != nil {
			t.Fatal(err)
		}
		open := func() ledger.Store {
			l, err := dynamoledger.New(awstest.Clients(t).DynamoDB, dynamoledger.Config{Table: table})
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		return open(), open
	})
}
