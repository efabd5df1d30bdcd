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
