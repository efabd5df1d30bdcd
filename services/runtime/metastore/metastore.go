// Package metastore keeps the embedded tier's catalog and run ledger in one
// SQLite database in the home directory. SQLite in WAL mode lets `fusion
// runs` in one process read while `fusion run` in another writes.
package metastore

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the sqlite driver
)

// Store implements catalog.Catalog and ledger.Store.
type Store struct {
	db *sql.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS datasets (
	name       TEXT NOT NULL,
	run_id     TEXT NOT NULL,
	pipeline   TEXT NOT NULL,
	zone       TEXT NOT NULL,
	format     TEXT NOT NULL,
	objects    TEXT NOT NULL,
	schema     TEXT NOT NULL,
	rows       INTEGER NOT NULL,
	bytes      INTEGER NOT NULL,
	producer   TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (name, run_id)
);
CREATE INDEX IF NOT EXISTS datasets_latest ON datasets (name, created_at);
CREATE TABLE IF NOT EXISTS runs (
	run_id     TEXT PRIMARY KEY,
	pipeline   TEXT NOT NULL DEFAULT '',
	input      TEXT NOT NULL DEFAULT '',
	expected   TEXT,
	first_seen INTEGER NOT NULL,
	trace_id   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_recent ON runs (first_seen);
CREATE INDEX IF NOT EXISTS runs_input ON runs (input);
CREATE TABLE IF NOT EXISTS steps (
	run_id      TEXT NOT NULL,
	step        TEXT NOT NULL,
	worker      TEXT NOT NULL,
	status      TEXT NOT NULL,
	input       TEXT NOT NULL,
	attempt     INTEGER NOT NULL,
	started_at  INTEGER NOT NULL,
	duration_ms INTEGER NOT NULL,
	rows_in     INTEGER NOT NULL,
	rows_out    INTEGER NOT NULL,
	bytes       INTEGER NOT NULL,
	error       TEXT,
	PRIMARY KEY (run_id, step)
);
`

// Open opens (creating if needed) the store at path.
func Open(path string) (*Store, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("metastore: %w", err)
	}
	if err := createSchema(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("metastore %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// createSchema creates the tables in one immediate transaction, so that
// processes opening a new home at the same moment queue on the write lock
// (busy_timeout) instead of deadlocking on a lock upgrade. Switching a new
// file to WAL can still report busy without waiting, so that is retried.
func createSchema(db *sql.DB) error {
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		var tx *sql.Tx
		if tx, err = db.Begin(); err == nil {
			if _, err = tx.Exec(schema + pullsSchema + handledSchema + deadLettersSchema + deadlinesSchema + schedulesSchema); err == nil {
				err = tx.Commit()
			} else {
				tx.Rollback()
			}
		}
		if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			return err
		}
		time.Sleep(time.Duration(10+attempt*10) * time.Millisecond)
	}
	return err
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }
