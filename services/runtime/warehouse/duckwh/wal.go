package duckwh

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
)

// A process killed while DuckDB checkpoints on close can leave the WAL
// beside a file that already holds its transaction. DuckDB 1.1 replays it
// again on the next open: the load's rows would be applied twice, and it
// is only the load history's primary key (or a CREATE TABLE meeting its
// table) that makes the replay fail instead, leaving the file unopenable.
//
// Every write session is one load (the file is closed, and so
// checkpointed, after each), so the WAL only ever holds the latest
// session's load. The session names its load in a marker beside the file,
// removed once the file is closed. When a WAL does not replay, the marker
// says which load it holds; if the file, opened without the WAL, records
// that load, the WAL was checkpointed already and is set aside.

func (w *Warehouse) markerPath() string { return w.path + ".loading" }

// markLoading names the load of the session about to write.
func (w *Warehouse) markLoading(loadID string) error {
	return os.WriteFile(w.markerPath(), []byte(loadID), 0o644)
}

// doneLoading removes the marker once the session's file is closed.
func (w *Warehouse) doneLoading() { os.Remove(w.markerPath()) }

// replayFailed reports whether opening failed on the WAL's replay.
func replayFailed(err error) bool {
	return strings.Contains(err.Error(), "Failure while replaying WAL file")
}

// setWALAside moves a WAL the file already holds out of the way (kept
// beside it as .wal.replayed-<time>, for the record); otherwise it leaves
// the WAL and reports why.
func (w *Warehouse) setWALAside(ctx context.Context, replay error) error {
	b, err := os.ReadFile(w.markerPath())
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("warehouse %s: %w (no load was being written: the WAL is kept)", w.path, replay)
	}
	if err != nil {
		return err
	}
	loadID := string(b)
	wal := w.path + ".wal"
	aside := fmt.Sprintf("%s.replayed-%d", wal, time.Now().UnixNano())
	if err := os.Rename(wal, aside); err != nil {
		return err
	}
	held, err := w.holdsLoad(ctx, loadID)
	if err == nil && held {
		return nil
	}
	if rerr := os.Rename(aside, wal); rerr != nil {
		return fmt.Errorf("warehouse %s: the WAL set aside as %s cannot go back: %w", w.path, aside, rerr)
	}
	if err == nil {
		err = fmt.Errorf("load %s, which the WAL holds, is not in the file: the WAL is kept", loadID)
	}
	return fmt.Errorf("warehouse %s: %w: %w", w.path, replay, err)
}

// holdsLoad reports whether the file, opened without its WAL, records a load.
func (w *Warehouse) holdsLoad(ctx context.Context, loadID string) (bool, error) {
	db, err := sql.Open("duckdb", w.path+"?access_mode=read_only")
	if err != nil {
		return false, err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM `+History+` WHERE load_id = ?`, loadID).Scan(&n)
	return n == 1, err
}
