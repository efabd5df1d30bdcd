package pipeline

import (
	"fmt"
	"regexp"
	"strings"
)

// Vars are what a precondition or an activity may refer to in its keys,
// table names, statements and commands, as {{run_id}}, {{pipeline}} and
// {{date}}: the run, its pipeline and the run's date (YYYY-MM-DD, UTC, from
// the run id), so that a step can wait for, or write to, the objects of its
// own run or day. Nothing else is substituted; shell commands also find
// these in their environment (FUSION_RUN_ID, FUSION_PIPELINE).
type Vars struct {
	RunID    string
	Pipeline string
}

// Date is the run's date, YYYY-MM-DD: run ids start with it (20261121-...).
func (v Vars) Date() string {
	if len(v.RunID) < 8 {
		return ""
	}
	d := v.RunID[:8]
	return d[:4] + "-" + d[4:6] + "-" + d[6:]
}

var placeholderRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// templateNames are the placeholders Expand knows.
var templateNames = []string{"run_id", "pipeline", "date"}

// Expand substitutes the placeholders of s.
func (v Vars) Expand(s string) string {
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		switch strings.TrimSpace(m[2 : len(m)-2]) {
		case "run_id":
			return v.RunID
		case "pipeline":
			return v.Pipeline
		case "date":
			return v.Date()
		}
		return m
	})
}

// checkTemplate reports the first placeholder of s that Expand does not know.
func checkTemplate(s string) error {
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		known := false
		for _, n := range templateNames {
			known = known || m[1] == n
		}
		if !known {
			return fmt.Errorf("unknown placeholder {{%s}} (use {{run_id}}, {{pipeline}} or {{date}})", m[1])
		}
	}
	return nil
}

// sample expands a template with made-up values, to validate what it
// becomes (a key, a table name) when the file is read.
func sample(s string) string {
	return Vars{RunID: "20260101-000000-000000", Pipeline: "p"}.Expand(s)
}
