package messages

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// ValidName reports whether s can name a pipeline, model or dataset: lower
// case letters, digits and underscores, starting with a letter, at most 40
// characters. Such names are safe as key segments, rule names and SQL
// identifiers alike.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// ValidKey rejects object keys that could escape the lake: absolute paths,
// "." or ".." segments, backslashes and control characters.
func ValidKey(key string) error {
	if key == "" {
		return fmt.Errorf("empty object key")
	}
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("object key %q is an absolute path", key)
	}
	if strings.ContainsAny(key, "\\\x00") {
		return fmt.Errorf("object key %q contains a backslash or NUL", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == ".." || seg == "." {
			return fmt.Errorf("object key %q contains a %q segment", key, seg)
		}
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("object key %q contains a control character", key)
		}
	}
	return nil
}

// checkRequestID reports what is wrong with a request id: it must be short,
// printable text (it names a run and travels in rule inputs).
func checkRequestID(id string) []error {
	var errs []error
	if len(id) > 128 {
		errs = append(errs, errors.New("request_id is longer than 128 bytes"))
	}
	for _, r := range id {
		if !unicode.IsPrint(r) {
			errs = append(errs, errors.New("request_id contains a non-printable character"))
			break
		}
	}
	return errs
}
