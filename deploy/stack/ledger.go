package stack

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/fusiondata/fusion/services/runtime/ledger/dynamoledger"
)

// The run ledger's table: its logical id, and its name after the prefix
// (config.Config.LedgerTable's default: <queue prefix>ledger).
const (
	ledgerTableID     = "LedgerTable"
	ledgerTableSuffix = "ledger"
)

// LedgerTable is the name of a deployment's run ledger table.
func LedgerTable(prefix string) string { return prefix + "-" + ledgerTableSuffix }

// ledgerTable declares the run ledger's table exactly as
// dynamoledger.CreateTableInput shapes it (keys, attribute types,
// indexes), so the two cannot drift apart. Runs are history: the table
// keeps them (no TTL) and survives the stack.
func ledgerTable() m {
	def := dynamoledger.CreateTableInput("")
	var attrs, keys, indexes []m
	for _, a := range def.AttributeDefinitions {
		attrs = append(attrs, m{"AttributeName": aws.ToString(a.AttributeName), "AttributeType": string(a.AttributeType)})
	}
	for _, k := range def.KeySchema {
		keys = append(keys, m{"AttributeName": aws.ToString(k.AttributeName), "KeyType": string(k.KeyType)})
	}
	for _, g := range def.GlobalSecondaryIndexes {
		var gk []m
		for _, k := range g.KeySchema {
			gk = append(gk, m{"AttributeName": aws.ToString(k.AttributeName), "KeyType": string(k.KeyType)})
		}
		indexes = append(indexes, m{"IndexName": aws.ToString(g.IndexName), "KeySchema": gk,
			"Projection": m{"ProjectionType": string(g.Projection.ProjectionType)}})
	}
	return m{
		"Type":           "AWS::DynamoDB::Table",
		"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
		"Properties": m{
			"TableName":                        prefixed(ledgerTableSuffix),
			"BillingMode":                      string(def.BillingMode),
			"AttributeDefinitions":             attrs,
			"KeySchema":                        keys,
			"GlobalSecondaryIndexes":           indexes,
			"PointInTimeRecoverySpecification": m{"PointInTimeRecoveryEnabled": true},
		},
	}
}

// ledgerIndexes is the ARN pattern of the ledger table's indexes.
func ledgerIndexes() m { return join(arnOf(ledgerTableID), "/index/*") }
