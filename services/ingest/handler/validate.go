package handler

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// problem is the first thing wrong with a file, located.
type problem struct {
	Line  int64
	Field string
	Err   error
}

// column is a column name, its SQL type and whether a value is required.
type column struct {
	Name     string
	Type     string
	Required bool
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// Lines longer than DuckDB reads by default (max_line_size for CSV,
// maximum_object_size for JSON) fail at once instead of being held in
// memory: a file that is one huge line is refused within bounded memory.
const (
	maxCSVLine  = 2 << 20
	maxJSONLine = 16 << 20
)

// lineLimit passes a reader's bytes through until a line (the bytes
// between two newlines) grows past max; then it fails with tooLong set.
type lineLimit struct {
	r       io.Reader
	max     int
	line    int64 // newlines seen
	run     int   // bytes since the last newline
	tooLong *problem
}

func newLineLimit(r io.Reader, max int) *lineLimit { return &lineLimit{r: r, max: max} }

func (l *lineLimit) Read(p []byte) (int, error) {
	if l.tooLong != nil {
		return 0, l.tooLong.Err
	}
	n, err := l.r.Read(p)
	for rest := p[:n]; l.run <= l.max; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			l.run += len(rest)
			break
		}
		if l.run += i; l.run <= l.max {
			l.line++
			l.run = 0
			rest = rest[i+1:]
		}
	}
	if l.run > l.max {
		// The bytes before pass on (lines before may hold the first
		// problem); the next read fails.
		l.tooLong = &problem{Line: l.line + 1, Err: fmt.Errorf("the line is longer than %d MiB without a line break", l.max>>20)}
		return n, nil
	}
	return n, err
}

// located returns the problem that stopped a read: an over-long line, or
// what otherwise makes of the error.
func (l *lineLimit) located(err error, otherwise func(error) *problem) *problem {
	if l.tooLong != nil && errors.Is(err, l.tooLong.Err) {
		return l.tooLong
	}
	return otherwise(err)
}

// skipBOM drops a UTF-8 byte-order mark at the start of a file.
func skipBOM(br *bufio.Reader) {
	if b, _ := br.Peek(3); bytes.Equal(b, bom) {
		br.Discard(3)
	}
}

// readHeader reads a CSV file's header line (after a UTF-8 byte-order mark).
func readHeader(path string, delim rune) ([]string, *problem) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &problem{Err: err}
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	skipBOM(br)
	lim := newLineLimit(br, maxCSVLine)
	r := csv.NewReader(lim)
	r.Comma = delim
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &problem{Err: errors.New("the file is empty")}
	}
	if err != nil {
		return nil, lim.located(err, csvProblem)
	}
	seen := map[string]int{}
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, &problem{Line: 1, Field: "header", Err: fmt.Errorf("column %d name is not valid UTF-8", i+1)}
		}
		if strings.TrimSpace(h) == "" {
			return nil, &problem{Line: 1, Field: "header", Err: fmt.Errorf("column %d has no name", i+1)}
		}
		if j, dup := seen[strings.ToLower(h)]; dup {
			return nil, &problem{Line: 1, Field: "header", Err: fmt.Errorf("column %d repeats the name %q of column %d", i+1, h, j+1)}
		}
		seen[strings.ToLower(h)] = i
	}
	return header, nil
}

// checkHeader compares a header with a declared schema; columns must come
// in the declared order, because CSV columns are positional.
func checkHeader(header []string, cols []column) *problem {
	for i := 0; i < len(header) && i < len(cols); i++ {
		if header[i] != cols[i].Name {
			return &problem{Line: 1, Field: "header", Err: fmt.Errorf("column %d is %q, the schema expects %q", i+1, header[i], cols[i].Name)}
		}
	}
	switch {
	case len(header) < len(cols):
		return &problem{Line: 1, Field: "header", Err: fmt.Errorf("%d columns, the schema declares %d (missing %s)", len(header), len(cols), names(cols[len(header):]))}
	case len(header) > len(cols):
		return &problem{Line: 1, Field: "header", Err: fmt.Errorf("%d columns, the schema declares %d (unexpected %s)", len(header), len(cols), strings.Join(header[len(cols):], ", "))}
	}
	return nil
}

func names(cols []column) string {
	n := make([]string, len(cols))
	for i, c := range cols {
		n[i] = c.Name
	}
	return strings.Join(n, ", ")
}

// validateCSV streams a CSV file and returns its first problem: broken
// quoting, a ragged row, invalid UTF-8, a value that does not fit its
// column's type, or a missing required value. It runs only when the fast
// path (DuckDB) refused a file, to say exactly where and why.
func validateCSV(path string, delim rune, cols []column) *problem {
	f, err := os.Open(path)
	if err != nil {
		return &problem{Err: err}
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	skipBOM(br)
	lim := newLineLimit(br, maxCSVLine)
	r := csv.NewReader(lim)
	r.Comma = delim
	r.FieldsPerRecord = -1 // counted below, for a message with both counts
	r.ReuseRecord = true
	if _, err := r.Read(); err != nil { // the header, checked already
		return lim.located(err, csvProblem)
	}
	checks := make([]func(string) error, len(cols))
	for i, c := range cols {
		checks[i] = typeCheck(c.Type)
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return lim.located(err, csvProblem)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(cols) {
			return fieldCountProblem(int64(line), len(rec), len(cols))
		}
		for i, v := range rec {
			if p := checkValue(v, cols[i], checks[i]); p != nil {
				l, _ := r.FieldPos(i)
				p.Line = int64(l)
				if p.Line == 0 {
					p.Line = int64(line)
				}
				return p
			}
		}
	}
}

func checkValue(v string, c column, check func(string) error) *problem {
	if !utf8.ValidString(v) {
		return &problem{Field: c.Name, Err: errors.New("invalid UTF-8")}
	}
	if v == "" {
		if c.Required {
			return &problem{Field: c.Name, Err: errors.New("a value is required")}
		}
		return nil
	}
	if err := check(v); err != nil {
		return &problem{Field: c.Name, Err: err}
	}
	return nil
}

// csvProblem locates an encoding/csv error.
func csvProblem(err error) *problem {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, csv.ErrQuote):
			return &problem{Line: int64(pe.StartLine), Err: fmt.Errorf("quoted field starting on this line is never closed, or has text after its closing quote")}
		case errors.Is(pe.Err, csv.ErrBareQuote):
			return &problem{Line: int64(pe.Line), Err: fmt.Errorf("a quote (\") appears inside an unquoted field (column %d)", pe.Column)}
		}
		return &problem{Line: int64(pe.Line), Err: pe.Err}
	}
	return &problem{Err: err}
}

// fieldCountProblem reports a ragged row.
func fieldCountProblem(line int64, got, want int) *problem {
	return &problem{Line: line, Err: fmt.Errorf("row has %d fields, the header has %d", got, want)}
}

var decimalRE = regexp.MustCompile(`^DECIMAL\((\d+),\s*(\d+)\)$`)

// typeCheck returns a check of a text value against a SQL type, accepting
// what DuckDB's CSV reader accepts for that type.
func typeCheck(sqlType string) func(string) error {
	bad := func(v string) error { return fmt.Errorf("%q is not a valid %s", clip(v), sqlType) }
	intCheck := func(bits int) func(string) error {
		return func(v string) error {
			if _, err := strconv.ParseInt(strings.TrimSpace(v), 10, bits); err != nil {
				return bad(v)
			}
			return nil
		}
	}
	switch t := strings.ToUpper(sqlType); {
	case t == "BOOLEAN":
		return func(v string) error {
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true", "false", "t", "f", "1", "0", "yes", "no", "y", "n":
				return nil
			}
			return bad(v)
		}
	case t == "TINYINT":
		return intCheck(8)
	case t == "SMALLINT":
		return intCheck(16)
	case t == "INTEGER":
		return intCheck(32)
	case t == "BIGINT":
		return intCheck(64)
	case t == "FLOAT", t == "DOUBLE", t == "DECIMAL", decimalRE.MatchString(t):
		return func(v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || (decimalRE.MatchString(t) && math.IsInf(f, 0)) {
				return bad(v)
			}
			return nil
		}
	case t == "DATE":
		return func(v string) error {
			if _, err := time.Parse("2006-01-02", strings.TrimSpace(v)); err != nil {
				return bad(v)
			}
			return nil
		}
	case strings.HasPrefix(t, "TIMESTAMP"):
		return func(v string) error {
			s := strings.TrimSpace(v)
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
				if _, err := time.Parse(layout, s); err == nil {
					return nil
				}
			}
			return bad(v)
		}
	}
	return func(string) error { return nil }
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// validateJSONLines streams a JSON-lines file and returns its first
// problem: a line that is not a JSON object, invalid UTF-8, or a value that
// does not fit its column.
func validateJSONLines(path string, cols []column) *problem {
	f, err := os.Open(path)
	if err != nil {
		return &problem{Err: err}
	}
	defer f.Close()
	fb := bufio.NewReaderSize(f, 1<<20)
	skipBOM(fb)
	lim := newLineLimit(fb, maxJSONLine)
	br := bufio.NewReaderSize(lim, 1<<20)
	var line int64
	for {
		text, err := br.ReadBytes('\n')
		if lim.tooLong != nil && errors.Is(err, lim.tooLong.Err) {
			return lim.tooLong
		}
		if len(text) > 0 {
			line++
			if p := checkJSONLine(bytes.TrimSpace(text), cols); p != nil {
				p.Line = line
				return p
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &problem{Line: line, Err: err}
		}
	}
}

func checkJSONLine(text []byte, cols []column) *problem {
	if len(text) == 0 {
		return nil
	}
	if !utf8.Valid(text) {
		return &problem{Err: errors.New("invalid UTF-8")}
	}
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return &problem{Err: fmt.Errorf("not valid JSON at byte %d: %v", se.Offset, err)}
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &problem{Err: fmt.Errorf("not a JSON object: the line holds a JSON %s", te.Value)}
		}
		return &problem{Err: fmt.Errorf("not valid JSON: %v", err)}
	}
	if dec.More() {
		return &problem{Err: errors.New("more than one JSON value on the line")}
	}
	for _, c := range cols {
		v, ok := obj[c.Name]
		if !ok || v == nil {
			if c.Required {
				return &problem{Field: c.Name, Err: errors.New("a value is required")}
			}
			continue
		}
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case json.Number:
			s = x.String()
		case bool:
			s = strconv.FormatBool(x)
		default:
			if strings.ToUpper(c.Type) != "VARCHAR" {
				return &problem{Field: c.Name, Err: fmt.Errorf("a nested value is not a valid %s", c.Type)}
			}
			continue
		}
		if err := typeCheck(c.Type)(s); err != nil {
			return &problem{Field: c.Name, Err: err}
		}
	}
	return nil
}
