package inproc

import (
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	_ "modernc.org/sqlite" // registers the sqlite driver
)

// The queue table. Rules:
//   - A message is one row, inserted by Publish and deleted by its ack, so
//     a message published and not acked is in the file whatever happens.
//   - A row is visible when visible_at (unix nanoseconds) has passed.
//     Receiving claims the oldest visible row (lowest seq) and sets its
//     visible_at to held in the same statement, so two subscriptions never
//     get one message. A nack sets visible_at to now + RedeliveryDelay.
//   - held is an endless lease: the owning process keeps a message as long
//     as its handler runs (a warehouse load has no useful upper bound), and
//     a new owner releases every held row at once, since one process owns
//     the file and the previous one is gone (owner.go).
//   - receives counts claims and is stored with the claim, so a message
//     that crashes the process still moves towards its dead-letter queue.
//
// The file runs in WAL mode with synchronous=NORMAL. A killed process
// loses nothing: every commit is in the WAL, in the OS's hands. A power
// cut can lose the last commits, but WAL recovery keeps a prefix of them
// (its frames are chained by checksum), and workers publish their outputs
// before acking their input, so a lost suffix undoes an ack along with
// anything published after it: a redelivery, never a lost message. FULL
// would add an fsync to every publish and ack to rule out redeliveries
// after a power cut only.
const schema = `
CREATE TABLE IF NOT EXISTS messages (
	seq        INTEGER PRIMARY KEY,
	queue      TEXT NOT NULL,
	uuid       TEXT NOT NULL,
	metadata   TEXT NOT NULL,
	payload    BLOB NOT NULL,
	receives   INTEGER NOT NULL DEFAULT 0,
	visible_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_next ON messages (queue, seq);
`

// held is visible_at of a received, unacked message.
const held = math.MaxInt64

// stored is a row of the queue table.
type stored struct {
	seq      int64
	uuid     string
	metadata message.Metadata
	payload  []byte
	receives int
}

// openDB opens the database on one connection: SQLite runs one writer at a
// time anyway, and one connection makes the process's statements queue in
// Go instead of failing busy (and keeps a :memory: database alive).
func openDB(dsn string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	// Switching a new file to WAL can report busy without waiting while
	// another process creates it too, so that is retried.
	for attempt := 0; ; attempt++ {
		_, err = db.Exec(schema)
		if err == nil || attempt == 50 || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			break
		}
		time.Sleep(time.Duration(10+attempt*10) * time.Millisecond)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// insert appends messages to a queue in one transaction.
func insert(db *sql.DB, topic string, msgs []*message.Message, now time.Time) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.Prepare(`INSERT INTO messages (queue, uuid, metadata, payload, visible_at) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, m := range msgs {
		md, err := json.Marshal(m.Metadata)
		if err != nil {
			return err
		}
		payload := []byte(m.Payload)
		if payload == nil {
			payload = []byte{}
		}
		if _, err := stmt.Exec(topic, m.UUID, string(md), payload, now.UnixNano()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// claim receives the queue's oldest visible message; nil when none is.
func claim(db *sql.DB, topic string, now time.Time) (*stored, error) {
	var s stored
	var md string
	err := db.QueryRow(`UPDATE messages SET visible_at = ?, receives = receives + 1
		WHERE seq = (SELECT seq FROM messages WHERE queue = ? AND visible_at <= ? ORDER BY seq LIMIT 1)
		RETURNING seq, uuid, metadata, payload, receives`, int64(held), topic, now.UnixNano()).
		Scan(&s.seq, &s.uuid, &md, &s.payload, &s.receives)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(md), &s.metadata); err != nil {
		return nil, err
	}
	if s.metadata == nil {
		s.metadata = message.Metadata{}
	}
	return &s, nil
}

// ack deletes a message.
func ack(db *sql.DB, seq int64) error {
	_, err := db.Exec(`DELETE FROM messages WHERE seq = ?`, seq)
	return err
}

// release makes a held message visible at the given time.
func release(db *sql.DB, seq int64, at time.Time) error {
	_, err := db.Exec(`UPDATE messages SET visible_at = ? WHERE seq = ?`, at.UnixNano(), seq)
	return err
}

// releaseAll makes every held message visible: the previous owner's.
func releaseAll(db *sql.DB, now time.Time) error {
	_, err := db.Exec(`UPDATE messages SET visible_at = ? WHERE visible_at = ?`, now.UnixNano(), int64(held))
	return err
}

// deadLetter moves a held message to a dead-letter queue, with the reason
// in its metadata and its receive count reset.
func deadLetter(db *sql.DB, s *stored, dlq, reason string, now time.Time) error {
	md := make(message.Metadata, len(s.metadata)+1)
	for k, v := range s.metadata {
		md[k] = v
	}
	md.Set(MetaDeadLetterReason, reason)
	b, err := json.Marshal(md)
	if err != nil {
		return err
	}
	_, err = db.Exec(`UPDATE messages SET queue = ?, metadata = ?, receives = 0, visible_at = ? WHERE seq = ?`,
		dlq, string(b), now.UnixNano(), s.seq)
	return err
}

// depth counts a queue's visible messages.
func depth(db *sql.DB, topic string, now time.Time) (int, error) {
	var n int
	err := db.QueryRow(`SELECT count(*) FROM messages WHERE queue = ? AND visible_at <= ?`, topic, now.UnixNano()).Scan(&n)
	return n, err
}
