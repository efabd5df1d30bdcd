package handler

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/marcboeker/go-duckdb"

	"github.com/fusiondata/fusion/services/inference/model"
	"github.com/fusiondata/fusion/services/runtime/engine"
)

// sliceRows is how many rows are scored at a time: about one Parquet row
// group, so memory stays bounded whatever the input size.
const sliceRows = 131072

// scoring describes one scoring job.
type scoring struct {
	files    []string // local Parquet files
	keys     []string // columns copied next to each score
	features []string // the model's inputs, in order
	model    model.Predictor
	extra    string // SQL select list appended to each output row (constants)
}

// scoreToParquet streams the input through the model into a Parquet file:
// DuckDB hands slices of rows to Go as Arrow, the rows are scored in
// parallel, and the scores go back to DuckDB as an Arrow stream that it
// writes out. Returns the number of rows written.
func scoreToParquet(ctx context.Context, e *engine.Engine, job scoring, out string) (int64, error) {
	in, err := e.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	reader, err := newScoredReader(ctx, in, job)
	if err != nil {
		return 0, err
	}
	defer reader.Release()

	conn, err := e.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	view := fmt.Sprintf("scored_%p", reader)
	var release func()
	if err := conn.Raw(func(dc any) error {
		a, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		release, err = a.RegisterView(reader, view)
		return err
	}); err != nil {
		return 0, err
	}
	defer release()
	rows, err := engine.CopyToParquet(ctx, conn, fmt.Sprintf("SELECT *, %s FROM %s", job.extra, engine.QuoteIdent(view)), out)
	if rerr := reader.Err(); rerr != nil {
		return 0, rerr
	}
	return rows, err
}

// scoredReader is an arrow.RecordReader of (keys..., score) records.
type scoredReader struct {
	ctx    context.Context
	conn   *sql.Conn
	job    scoring
	schema *arrow.Schema

	file   int   // index of the file being read
	offset int64 // next row of that file
	size   int64 // rows in that file

	queue   []arrow.Record
	current arrow.Record
	err     error
	refs    int64
}

func newScoredReader(ctx context.Context, conn *sql.Conn, job scoring) (*scoredReader, error) {
	r := &scoredReader{ctx: ctx, conn: conn, job: job, file: -1, refs: 1}
	recs, err := r.query(fmt.Sprintf("SELECT %s FROM %s LIMIT 0", engine.QuoteIdents(job.keys), engine.ReadParquet(job.files...)))
	if err != nil {
		return nil, err
	}
	fields := append([]arrow.Field(nil), recs.Schema().Fields()...)
	recs.Release()
	fields = append(fields, arrow.Field{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: false})
	r.schema = arrow.NewSchema(fields, nil)
	return r, nil
}

func (r *scoredReader) query(q string) (array.RecordReader, error) {
	var rr array.RecordReader
	err := r.conn.Raw(func(dc any) error {
		a, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		rr, err = a.QueryContext(r.ctx, q)
		return err
	})
	return rr, err
}

func (r *scoredReader) Schema() *arrow.Schema { return r.schema }
func (r *scoredReader) Record() arrow.Record  { return r.current }
func (r *scoredReader) Err() error            { return r.err }
func (r *scoredReader) Retain()               { r.refs++ }

func (r *scoredReader) Release() {
	if r.refs--; r.refs > 0 {
		return
	}
	if r.current != nil {
		r.current.Release()
		r.current = nil
	}
	for _, rec := range r.queue {
		rec.Release()
	}
	r.queue = nil
}

func (r *scoredReader) Next() bool {
	if r.current != nil {
		r.current.Release()
		r.current = nil
	}
	for len(r.queue) == 0 {
		if r.err != nil || !r.fill() {
			return false
		}
	}
	r.current, r.queue = r.queue[0], r.queue[1:]
	return true
}

// fill scores the next slice of rows into the queue; false at the end.
func (r *scoredReader) fill() bool {
	for r.file < 0 || r.offset >= r.size {
		r.file++
		if r.file >= len(r.job.files) {
			return false
		}
		r.offset = 0
		if err := r.conn.QueryRowContext(r.ctx, "SELECT count(*) FROM "+engine.ReadParquet(r.job.files[r.file])).Scan(&r.size); err != nil {
			r.err = err
			return false
		}
	}
	cols := make([]string, 0, len(r.job.keys)+len(r.job.features))
	for _, k := range r.job.keys {
		cols = append(cols, engine.QuoteIdent(k))
	}
	for _, f := range r.job.features {
		cols = append(cols, "CAST("+engine.QuoteIdent(f)+" AS DOUBLE)")
	}
	q := fmt.Sprintf("SELECT %s FROM read_parquet(%s, file_row_number = true) WHERE file_row_number >= %d AND file_row_number < %d",
		strings.Join(cols, ", "), engine.QuoteString(r.job.files[r.file]), r.offset, r.offset+sliceRows)
	r.offset += sliceRows
	rr, err := r.query(q)
	if err != nil {
		r.err = err
		return false
	}
	defer rr.Release()
	var batch []arrow.Record
	for rr.Next() {
		rec := rr.Record()
		rec.Retain()
		batch = append(batch, rec)
	}
	if err := rr.Err(); err != nil {
		r.err = err
		return false
	}
	scored := make([]arrow.Record, len(batch))
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				scored[i] = r.score(batch[i])
				batch[i].Release()
			}
		}()
	}
	for i := range batch {
		work <- i
	}
	close(work)
	wg.Wait()
	r.queue = append(r.queue, scored...)
	return true
}

// score appends a score column to a record's key columns.
func (r *scoredReader) score(rec arrow.Record) arrow.Record {
	nk, nf := len(r.job.keys), len(r.job.features)
	n := int(rec.NumRows())
	features := make([]*array.Float64, nf)
	for j := range features {
		features[j] = rec.Column(nk + j).(*array.Float64)
	}
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.Reserve(n)
	row := make([]float64, nf)
	for i := 0; i < n; i++ {
		for j, col := range features {
			if col.IsNull(i) {
				row[j] = math.NaN()
			} else {
				row[j] = col.Value(i)
			}
		}
		b.UnsafeAppend(r.job.model.Predict(row))
	}
	scores := b.NewArray()
	defer scores.Release()
	cols := make([]arrow.Array, 0, nk+1)
	for j := 0; j < nk; j++ {
		cols = append(cols, rec.Column(j))
	}
	cols = append(cols, scores)
	return array.NewRecord(r.schema, cols, int64(n))
}
