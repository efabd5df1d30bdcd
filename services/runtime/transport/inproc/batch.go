package inproc

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fusiondata/fusion/services/runtime/transport"
)

// Batches receives many messages of a queue at once and holds them (see
// transport.BatchReceiver): held rows are claimed in one statement, exactly
// as a subscription claims one, and stay held until acked or released —
// held is an endless lease here, so nothing needs renewing.
type Batches struct {
	broker *Broker
	mu     sync.Mutex
	held   map[int64]string // seq -> queue, to release at Close
	closed bool
	done   chan struct{} // closed by Close, ending a waiting Receive
}

var _ transport.BatchReceiver = (*Batches)(nil)

// Batches returns a batch receiver on the broker. On a file, its first
// Receive takes ownership of the file, as a Subscribe does.
func (b *Broker) Batches() *Batches {
	return &Batches{broker: b, held: map[int64]string{}, done: make(chan struct{})}
}

// Receive claims up to n visible messages of the queue, oldest first,
// waiting up to wait for the first.
func (r *Batches) Receive(ctx context.Context, queue string, n int, wait time.Duration) ([]transport.Held, error) {
	b := r.broker
	if n < 1 {
		return nil, fmt.Errorf("inproc: receive at least one message (asked %d)", n)
	}
	if err := b.own(); err != nil {
		return nil, err
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	poll := time.NewTimer(b.cfg.Poll)
	defer poll.Stop()
	for {
		if r.isClosed() || b.isClosed() {
			return nil, ErrClosed
		}
		wake := b.waiter(queue)
		rows, err := claimMany(b.db, queue, n, time.Now())
		if err != nil {
			return nil, err
		}
		if len(rows) > 0 {
			return r.hold(queue, rows)
		}
		poll.Reset(b.cfg.Poll)
		select {
		case <-wake:
		case <-poll.C:
		case <-deadline.C:
			return nil, nil
		case <-ctx.Done():
			return nil, nil
		case <-r.done:
			return nil, ErrClosed
		case <-b.done:
			return nil, ErrClosed
		}
	}
}

func (r *Batches) hold(queue string, rows []*stored) ([]transport.Held, error) {
	r.mu.Lock()
	if r.closed { // closed while claiming: give them back
		r.mu.Unlock()
		seqs := make([]int64, len(rows))
		for i, s := range rows {
			seqs[i] = s.seq
		}
		return nil, errors.Join(ErrClosed, r.release(queue, seqs))
	}
	defer r.mu.Unlock()
	out := make([]transport.Held, len(rows))
	for i, s := range rows {
		r.held[s.seq] = queue
		md := make(map[string]string, len(s.metadata))
		for k, v := range s.metadata {
			md[k] = v
		}
		out[i] = transport.Held{Handle: strconv.FormatInt(s.seq, 10), ID: s.uuid, Payload: s.payload, Metadata: md, Receives: s.receives}
	}
	return out, nil
}

// Ack deletes the messages in one transaction.
func (r *Batches) Ack(_ context.Context, queue string, msgs []transport.Held) error {
	seqs, err := r.settle(msgs)
	if err != nil || len(seqs) == 0 {
		return err
	}
	return inSeqs(r.broker.db, `DELETE FROM messages WHERE seq IN (%s)`, nil, seqs)
}

// Release makes the messages visible again at once.
func (r *Batches) Release(_ context.Context, queue string, msgs []transport.Held) error {
	seqs, err := r.settle(msgs)
	if err != nil || len(seqs) == 0 {
		return err
	}
	return r.release(queue, seqs)
}

func (r *Batches) release(queue string, seqs []int64) error {
	if err := inSeqs(r.broker.db, `UPDATE messages SET visible_at = ? WHERE seq IN (%s)`, []any{time.Now().UnixNano()}, seqs); err != nil {
		return err
	}
	r.broker.signal(queue)
	return nil
}

// settle forgets the messages' holds and returns their rows.
func (r *Batches) settle(msgs []transport.Held) ([]int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seqs := make([]int64, 0, len(msgs))
	for _, m := range msgs {
		seq, err := strconv.ParseInt(m.Handle, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("inproc: %q is not a handle of this broker", m.Handle)
		}
		if _, ok := r.held[seq]; ok {
			delete(r.held, seq)
			seqs = append(seqs, seq)
		}
	}
	return seqs, nil
}

// Close releases every message still held.
func (r *Batches) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.done)
	byQueue := map[string][]int64{}
	for seq, q := range r.held {
		byQueue[q] = append(byQueue[q], seq)
	}
	r.held = map[int64]string{}
	r.mu.Unlock()
	if r.broker.isClosed() {
		return nil // the rows stay held in the file: the next owner releases them
	}
	var errs []error
	for q, seqs := range byQueue {
		errs = append(errs, r.release(q, seqs))
	}
	return errors.Join(errs...)
}

func (r *Batches) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// claimMany holds up to n of the queue's oldest visible messages in one
// statement, so that no other receiver gets any of them.
func claimMany(db *sql.DB, topic string, n int, now time.Time) ([]*stored, error) {
	rows, err := db.Query(`UPDATE messages SET visible_at = ?, receives = receives + 1
		WHERE seq IN (SELECT seq FROM messages WHERE queue = ? AND visible_at <= ? ORDER BY seq LIMIT ?)
		RETURNING seq, uuid, metadata, payload, receives`, int64(held), topic, now.UnixNano(), n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*stored
	for rows.Next() {
		s := &stored{}
		var md string
		if err := rows.Scan(&s.seq, &s.uuid, &md, &s.payload, &s.receives); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(md), &s.metadata); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// RETURNING promises no order: keep the queue's.
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out, nil
}

// inSeqs runs a statement over a list of rows in one transaction, in
// chunks that keep within SQLite's limit on bound parameters.
func inSeqs(db *sql.DB, stmt string, head []any, seqs []int64) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	const chunk = 500
	for start := 0; start < len(seqs); start += chunk {
		part := seqs[start:min(start+chunk, len(seqs))]
		args := append([]any{}, head...)
		for _, s := range part {
			args = append(args, s)
		}
		if _, err := tx.Exec(fmt.Sprintf(stmt, strings.TrimSuffix(strings.Repeat("?,", len(part)), ",")), args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Pending counts every message of a queue not acked yet: ready, held by a
// receiver, or waiting out a redelivery delay. Zero means the queue's
// consumers are done with everything published to it.
func (b *Broker) Pending(queue string) int {
	var n int
	if err := b.db.QueryRow(`SELECT count(*) FROM messages WHERE queue = ?`, queue).Scan(&n); err != nil {
		return -1
	}
	return n
}
