package metastore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/fusiondata/fusion/services/runtime/transport"
)

// deadLettersSchema keeps the embedded tier's dead letters in the home, so
// they outlive the process and `fusion dlq` can read them from another.
const deadLettersSchema = `
CREATE TABLE IF NOT EXISTS dead_letters (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	queue      TEXT NOT NULL,
	message_id TEXT NOT NULL,
	payload    BLOB NOT NULL,
	metadata   TEXT NOT NULL,
	run_id     TEXT NOT NULL,
	dead_at    INTEGER NOT NULL
);
`

// DeadLetters is the embedded tier's dead-letter queues: a message
// publisher for the runtime (topic <queue>-dlq) and the listing side of
// transport.DeadLetterQueues (redriving needs the running broker, which
// the platform adds).
type DeadLetters struct{ s *Store }

// DeadLetters returns the store's dead-letter queues.
func (s *Store) DeadLetters() *DeadLetters { return &DeadLetters{s: s} }

// Publish keeps messages dead-lettered on topic <queue>-dlq.
func (d *DeadLetters) Publish(topic string, msgs ...*message.Message) error {
	queue, ok := strings.CutSuffix(topic, "-dlq")
	if !ok {
		return fmt.Errorf("dead letters: %q is not a dead-letter queue", topic)
	}
	for _, m := range msgs {
		md, err := json.Marshal(map[string]string(m.Metadata))
		if err != nil {
			return err
		}
		if _, err := d.s.db.Exec(`INSERT INTO dead_letters (queue, message_id, payload, metadata, run_id, dead_at) VALUES (?, ?, ?, ?, ?, ?)`,
			queue, m.UUID, []byte(m.Payload), string(md), m.Metadata.Get(transport.MetaRunID), time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("dead letters: %w", err)
		}
	}
	return nil
}

// Close does nothing: the store owns the database.
func (d *DeadLetters) Close() error { return nil }

// List returns every dead letter, oldest first.
func (d *DeadLetters) List(ctx context.Context) ([]transport.DeadLetter, error) {
	rows, err := d.s.db.QueryContext(ctx, `SELECT seq, queue, message_id, payload, metadata, dead_at FROM dead_letters ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []transport.DeadLetter
	for rows.Next() {
		var seq, at int64
		var md string
		var l transport.DeadLetter
		if err := rows.Scan(&seq, &l.Queue, &l.ID, &l.Payload, &md, &at); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(md), &l.Metadata); err != nil {
			return nil, err
		}
		l.Handle, l.At = strconv.FormatInt(seq, 10), time.UnixMilli(at).UTC()
		out = append(out, l)
	}
	return out, rows.Err()
}

// Remove deletes dead letters by handle.
func (d *DeadLetters) Remove(ctx context.Context, letters []transport.DeadLetter) error {
	for _, l := range letters {
		if _, err := d.s.db.ExecContext(ctx, `DELETE FROM dead_letters WHERE seq = ?`, l.Handle); err != nil {
			return err
		}
	}
	return nil
}
