package pgwh

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/fusiondata/fusion/services/runtime/engine"
)

// stageName is the staging table of a merge, dropped at commit.
const stageName = "_fusion_stage"

// createStage creates the staging table with the data's columns typed as
// the target's, empty.
func createStage(ctx context.Context, tx pgx.Tx, target tableName, columns []string) error {
	_, err := tx.Exec(ctx, fmt.Sprintf("CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT %s FROM %s LIMIT 0",
		engine.QuoteIdent(stageName), engine.QuoteIdents(columns), target.quoted()))
	return err
}

// mergeStage replaces the target's rows whose keys are staged, and inserts
// the others. A replaced row takes the staged values; its columns the data
// lacks go back to their default, as if the row had been deleted and
// inserted. With MERGE (Postgres 15) it is one statement; older servers
// and Redshift delete and insert.
func mergeStage(ctx context.Context, tx pgx.Tx, useMerge bool, target tableName, tableColumns, columns, keys []string) error {
	stage := engine.QuoteIdent(stageName)
	on := make([]string, len(keys))
	for i, k := range keys {
		on[i] = fmt.Sprintf("t.%s = s.%s", engine.QuoteIdent(k), engine.QuoteIdent(k))
	}
	cols := engine.QuoteIdents(columns)
	if !useMerge {
		del := fmt.Sprintf("DELETE FROM %s AS t USING %s AS s WHERE %s", target.quoted(), stage, strings.Join(on, " AND "))
		if _, err := tx.Exec(ctx, del); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", target.quoted(), cols, cols, stage))
		return err
	}
	isKey, inData := set(keys), set(columns)
	var sets, values []string
	for _, c := range tableColumns {
		if isKey[c] {
			continue
		}
		v := "DEFAULT"
		if inData[c] {
			v = "s." + engine.QuoteIdent(c)
		}
		sets = append(sets, engine.QuoteIdent(c)+" = "+v)
	}
	for _, c := range columns {
		values = append(values, "s."+engine.QuoteIdent(c))
	}
	matched := "DO NOTHING" // every column is a key: the row is already there
	if len(sets) > 0 {
		matched = "UPDATE SET " + strings.Join(sets, ", ")
	}
	_, err := tx.Exec(ctx, fmt.Sprintf("MERGE INTO %s AS t USING %s AS s ON %s WHEN MATCHED THEN %s WHEN NOT MATCHED THEN INSERT (%s) VALUES (%s)",
		target.quoted(), stage, strings.Join(on, " AND "), matched, cols, strings.Join(values, ", ")))
	return err
}

func set(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
