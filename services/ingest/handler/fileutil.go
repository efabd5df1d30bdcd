package handler

import (
	"bufio"
	"errors"
	"io"
	"os"
	"unicode"
)

// isBlank reports whether a file is empty or holds only white space.
func isBlank(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	for {
		r, _, err := br.ReadRune()
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if !unicode.IsSpace(r) && r != '\uFEFF' {
			return false, nil
		}
	}
}

// firstLineProblem refuses a file whose first line is longer than max
// bytes, reading it in bounded memory.
func firstLineProblem(path string, max int) (*problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	lim := newLineLimit(f, max)
	br := bufio.NewReaderSize(lim, 64<<10)
	for {
		_, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if lim.tooLong != nil && errors.Is(err, lim.tooLong.Err) {
			return lim.tooLong, nil
		}
		return nil, nil
	}
}
