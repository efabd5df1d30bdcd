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

// scoredReader is an arrow.RecordReader of (keys..., score) records. A
// producer goroutine reads and scores slices ahead of DuckDB's consumption,
// so scoring overlaps with writing; its channel bounds how far ahead.
type scoredReader struct {
	ctx    context.Context
	cancel context.CancelFunc
	conn   *sql.Conn
	job    scoring
	schema *arrow.Schema

	records chan arrow.Record
	done    chan struct{}
	current arrow.Record
	err     error // set by the producer before it closes records
	refs    int64
}

func newScoredReader(ctx context.Context, conn *sql.Conn, job scoring) (*scoredReader, error) {
	r := &scoredReader{conn: conn, job: job, refs: 1, records: make(chan arrow.Record, 64), done: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(ctx)
	recs, err := r.query(fmt.Sprintf("SELECT %s FROM %s LIMIT 0", engine.QuoteIdents(job.keys), engine.ReadParquet(job.files...)))
	if err != nil {
		r.cancel()
		return nil, err
	}
	fields := append([]arrow.Field(nil), recs.Schema().Fields()...)
	recs.Release()
	fields = append(fields, arrow.Field{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: false})
	r.schema = arrow.NewSchema(fields, nil)
	go r.produce()
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
func (r *scoredReader) Retain()               { r.refs++ }

// Err is the producer's error, once the stream has ended.
func (r *scoredReader) Err() error {
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}

func (r *scoredReader) Release() {
	if r.refs--; r.refs > 0 {
		return
	}
	r.cancel()
	if r.current != nil {
		r.current.Release()
		r.current = nil
	}
	for rec := range r.records { // drain until the producer stops
		rec.Release()
	}
}

func (r *scoredReader) Next() bool {
	if r.current != nil {
		r.current.Release()
		r.current = nil
	}
	rec, ok := <-r.records
	if !ok {
		return false
	}
	r.current = rec
	return true
}

// produce scores every slice of every file into the channel.
func (r *scoredReader) produce() {
	defer close(r.done)
	defer close(r.records)
	cols := make([]string, 0, len(r.job.keys)+len(r.job.features))
	for _, k := range r.job.keys {
		cols = append(cols, engine.QuoteIdent(k))
	}
	for _, f := range r.job.features {
		cols = append(cols, "CAST("+engine.QuoteIdent(f)+" AS DOUBLE)")
	}
	for _, file := range r.job.files {
		var size int64
		if err := r.conn.QueryRowContext(r.ctx, "SELECT count(*) FROM "+engine.ReadParquet(file)).Scan(&size); err != nil {
			r.err = err
			return
		}
		for offset := int64(0); offset < size; offset += sliceRows {
			q := fmt.Sprintf("SELECT %s FROM read_parquet(%s, file_row_number = true) WHERE file_row_number >= %d AND file_row_number < %d",
				strings.Join(cols, ", "), engine.QuoteString(file), offset, offset+sliceRows)
			if r.err = r.scoreSlice(q); r.err != nil {
				return
			}
		}
	}
}

// scoreSlice reads one slice and scores its records in parallel.
func (r *scoredReader) scoreSlice(q string) error {
	rr, err := r.query(q)
	if err != nil {
		return err
	}
	defer rr.Release()
	var batch []arrow.Record
	for rr.Next() {
		rec := rr.Record()
		rec.Retain()
		batch = append(batch, rec)
	}
	if err := rr.Err(); err != nil {
		return err
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
	for i, rec := range scored {
		select {
		case r.records <- rec:
		case <-r.ctx.Done():
			for _, rest := range scored[i:] {
				rest.Release()
			}
			return r.ctx.Err()
		}
	}
	return nil
}

// score appends a score column to a record's key columns. The model gets
// the feature columns whole (model.PredictBatch), nulls as NaN.
func (r *scoredReader) score(rec arrow.Record) arrow.Record {
	nk, nf := len(r.job.keys), len(r.job.features)
	n := int(rec.NumRows())
	features := make([][]float64, nf)
	for j := range features {
		col := rec.Column(nk + j).(*array.Float64)
		values := col.Float64Values()
		if col.NullN() > 0 {
			// A null's value slot holds whatever the writer left there.
			values = append([]float64(nil), values...)
			for i := range values {
				if col.IsNull(i) {
					values[i] = math.NaN()
				}
			}
		}
		features[j] = values
	}
	out := make([]float64, n)
	model.PredictBatch(r.job.model, features, out)
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(out, nil)
	scores := b.NewArray()
	defer scores.Release()
	cols := make([]arrow.Array, 0, nk+1)
	for j := 0; j < nk; j++ {
		cols = append(cols, rec.Column(j))
	}
	cols = append(cols, scores)
	return array.NewRecord(r.schema, cols, int64(n))
}
