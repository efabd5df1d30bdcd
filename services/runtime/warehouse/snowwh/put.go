package snowwh

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
)

// put uploads the files to a temporary stage of the session and copies
// them into the staging table, returning the stage.
//
// Each file goes to a folder of its own (files of different directories
// may share a name). COPY matches Parquet columns to the staging table's
// by name ignoring case: the table's names are the folded ones (ID for
// id), and the data has no two names that differ only in case (plan).
// CASE_SENSITIVE would also fail on fakesnow, which compares the Parquet
// names with upper-cased column names. USE_LOGICAL_TYPE reads timestamps
// and decimals by their Parquet logical types; BINARY_AS_TEXT = FALSE
// keeps BLOBs binary (DuckDB marks text as text). PURGE removes the files
// once loaded.
func (w *Warehouse) put(ctx context.Context, conn *sql.Conn, files []string, table tableName) (*tableName, error) {
	stage := w.in("_FUSION_STAGE_" + randomHex(8))
	if _, err := conn.ExecContext(ctx, "CREATE TEMPORARY STAGE "+stage.String()); err != nil {
		return nil, err
	}
	for i, f := range files {
		path, err := filepath.Abs(f)
		if err != nil {
			return &stage, err
		}
		if strings.ContainsAny(path, "'\\") {
			return &stage, fmt.Errorf("put %s: quotes and backslashes in the path are not supported", path)
		}
		put := fmt.Sprintf("PUT 'file://%s' @%s/%d AUTO_COMPRESS = FALSE", filepath.ToSlash(path), stage, i)
		if _, err := conn.ExecContext(ctx, put); err != nil {
			return &stage, fmt.Errorf("put %s: %w", f, err)
		}
	}
	copyInto := fmt.Sprintf(`COPY INTO %s FROM @%s
		FILE_FORMAT = (TYPE = PARQUET USE_LOGICAL_TYPE = TRUE BINARY_AS_TEXT = FALSE)
		MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE PURGE = TRUE`, table, stage)
	if _, err := conn.ExecContext(ctx, copyInto); err != nil {
		return &stage, fmt.Errorf("copy into %s: %w", table, err)
	}
	return &stage, nil
}
