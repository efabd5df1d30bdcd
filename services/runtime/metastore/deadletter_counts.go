package metastore

import "context"

// Counts returns how many dead letters each queue has; queues without
// any are absent.
func (d *DeadLetters) Counts(ctx context.Context) (map[string]int64, error) {
	rows, err := d.s.db.QueryContext(ctx, `SELECT queue, count(*) FROM dead_letters GROUP BY queue`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var q string
		var n int64
		if err := rows.Scan(&q, &n); err != nil {
			return nil, err
		}
		out[q] = n
	}
	return out, rows.Err()
}
