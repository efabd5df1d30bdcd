package metastore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fusiondata/fusion/services/runtime/catalog"
)

var _ catalog.Catalog = (*Store)(nil)

func (s *Store) Register(ctx context.Context, d catalog.Dataset) error {
	objects, _ := json.Marshal(d.Objects)
	schema, _ := json.Marshal(d.Schema)
	if d.CreatedAt.IsZero() {
		d.CreatedAt = time.Now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO datasets
		(name, run_id, pipeline, zone, format, objects, schema, rows, bytes, producer, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.Name, d.RunID, d.Pipeline, d.Zone, d.Format, string(objects), string(schema), d.Rows, d.Bytes, d.Producer, d.CreatedAt.UnixNano())
	if err != nil {
		return fmt.Errorf("catalog: register %s@%s: %w", d.Name, d.RunID, err)
	}
	return nil
}

const datasetCols = `name, run_id, pipeline, zone, format, objects, schema, rows, bytes, producer, created_at`

func (s *Store) Get(ctx context.Context, name, runID string) (catalog.Dataset, error) {
	return s.one(ctx, `SELECT `+datasetCols+` FROM datasets WHERE name = ? AND run_id = ?`, name, runID)
}

func (s *Store) Latest(ctx context.Context, name string) (catalog.Dataset, error) {
	return s.one(ctx, `SELECT `+datasetCols+` FROM datasets WHERE name = ? ORDER BY created_at DESC LIMIT 1`, name)
}

func (s *Store) Datasets(ctx context.Context, name string) ([]catalog.Dataset, error) {
	q, args := `SELECT `+datasetCols+` FROM datasets ORDER BY created_at DESC`, []any{}
	if name != "" {
		q, args = `SELECT `+datasetCols+` FROM datasets WHERE name = ? ORDER BY created_at DESC`, []any{name}
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []catalog.Dataset
	for rows.Next() {
		d, err := scanDataset(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *Store) one(ctx context.Context, q string, args ...any) (catalog.Dataset, error) {
	d, err := scanDataset(s.db.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("catalog: %v: %w", args, catalog.ErrNotFound)
	}
	return d, err
}

type scanner interface{ Scan(dest ...any) error }

func scanDataset(r scanner) (catalog.Dataset, error) {
	var d catalog.Dataset
	var objects, schema string
	var created int64
	if err := r.Scan(&d.Name, &d.RunID, &d.Pipeline, &d.Zone, &d.Format, &objects, &schema, &d.Rows, &d.Bytes, &d.Producer, &created); err != nil {
		return d, err
	}
	d.CreatedAt = time.Unix(0, created)
	if err := json.Unmarshal([]byte(objects), &d.Objects); err != nil {
		return d, err
	}
	return d, json.Unmarshal([]byte(schema), &d.Schema)
}
