package platform

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/fusiondata/fusion/deploy"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/lake"
)

// seed gives a new home the sample pipelines and registers the sample
// models, so `fusion run` and `fusion demo` work from the binary alone. An
// existing pipelines directory or model is left as it is.
func seed(cfg config.Config, l lake.Lake) error {
	dir := cfg.PipelinesDir()
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := copyTree(deploy.Pipelines(), func(name string, data []byte) error {
			return os.WriteFile(filepath.Join(dir, name), data, 0o644)
		}); err != nil {
			return err
		}
	}
	ctx := context.Background()
	return copyTree(deploy.Models(), func(name string, data []byte) error {
		key := path.Join(lake.Models, name)
		if _, err := l.Stat(ctx, key); err == nil {
			return nil
		}
		_, err := l.Put(ctx, key, bytes.NewReader(data))
		return err
	})
}

func copyTree(fsys fs.FS, write func(name string, data []byte) error) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return write(p, data)
	})
}
