package worker

import (
	"context"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/lake"
)

// LocalFiles makes a dataset's objects readable as local files (for
// DuckDB) and returns one release func for all of them.
func LocalFiles(ctx context.Context, l lake.Lake, keys []string, tmpDir string) ([]string, func(), error) {
	var paths []string
	var releases []func()
	release := func() {
		for _, r := range releases {
			r()
		}
	}
	for _, k := range keys {
		p, r, err := l.Local(ctx, k, tmpDir)
		if err != nil {
			release()
			return nil, nil, err
		}
		paths = append(paths, p)
		releases = append(releases, r)
	}
	return paths, release, nil
}

// Columns converts engine columns to the contract's schema type.
func Columns(cols []engine.Column) []messages.Column {
	out := make([]messages.Column, len(cols))
	for i, c := range cols {
		out[i] = messages.Column{Name: c.Name, Type: c.Type}
	}
	return out
}
