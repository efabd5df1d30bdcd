// Package fslake is the lake of the embedded tier: a local directory whose
// subdirectories are the zones.
package fslake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/lake"
)

// Lake keeps objects as files under a root directory. Writes go to a
// temporary file in the root's .tmp directory and are renamed into place,
// so objects appear whole.
type Lake struct {
	root   string
	bucket string
}

var _ lake.Lake = (*Lake)(nil)

var linkSeq atomic.Uint64

// tmpDir holds files being written; it is skipped by List.
const tmpDir = ".tmp"

// Open creates the zone directories under root if needed. bucket names the
// lake in events.
func Open(root, bucket string) (*Lake, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	for _, z := range append(lake.Zones, tmpDir) {
		if err := os.MkdirAll(filepath.Join(abs, z), 0o755); err != nil {
			return nil, fmt.Errorf("lake: %w", err)
		}
	}
	return &Lake{root: abs, bucket: bucket}, nil
}

// Root is the lake's directory.
func (l *Lake) Root() string { return l.root }

func (l *Lake) Bucket() string { return l.bucket }

// Path maps a key to its file, refusing keys that could escape the root.
func (l *Lake) Path(key string) (string, error) {
	if err := messages.ValidKey(key); err != nil {
		return "", fmt.Errorf("lake: %w", err)
	}
	if key == tmpDir || strings.HasPrefix(key, tmpDir+"/") {
		return "", fmt.Errorf("lake: key %q is reserved", key)
	}
	return filepath.Join(l.root, filepath.FromSlash(key)), nil
}

// Key maps a file under the root back to its key.
func (l *Lake) Key(path string) (string, error) {
	rel, err := filepath.Rel(l.root, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("lake: %s is outside %s", path, l.root)
	}
	return filepath.ToSlash(rel), nil
}

func (l *Lake) object(key string, info fs.FileInfo) lake.Object {
	return lake.Object{Key: key, Size: info.Size(), Modified: info.ModTime(), ETag: ETag(info)}
}

// ETag is a cheap version tag for a file: its modification time and size.
// Files are only ever replaced whole, so a new version has a new tag.
func ETag(info fs.FileInfo) string {
	return fmt.Sprintf("%x-%x", info.ModTime().UnixNano(), info.Size())
}

func (l *Lake) Stat(_ context.Context, key string) (lake.Object, error) {
	p, err := l.Path(key)
	if err != nil {
		return lake.Object{}, err
	}
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && info.IsDir()) {
		return lake.Object{}, fmt.Errorf("lake: %s: %w", key, lake.ErrNotFound)
	}
	if err != nil {
		return lake.Object{}, err
	}
	return l.object(key, info), nil
}

func (l *Lake) List(_ context.Context, prefix string) ([]lake.Object, error) {
	// Walk from the deepest directory the prefix names.
	dir := l.root
	if i := strings.LastIndex(prefix, "/"); i > 0 {
		p, err := l.Path(prefix[:i])
		if err != nil {
			return nil, err
		}
		dir = p
	}
	var out []lake.Object
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			if path != l.root && d.Name() == tmpDir && filepath.Dir(path) == l.root {
				return filepath.SkipDir
			}
			return nil
		}
		key, err := l.Key(path)
		if err != nil || !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed while walking
		}
		out = append(out, l.object(key, info))
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, err
}

func (l *Lake) Open(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := l.Path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("lake: %s: %w", key, lake.ErrNotFound)
	}
	return f, err
}

// TempFile creates a file in the lake's temporary directory, on the same
// filesystem as the objects, so PutFile can rename it into place.
func (l *Lake) TempFile(pattern string) (*os.File, error) {
	return os.CreateTemp(filepath.Join(l.root, tmpDir), pattern)
}

func (l *Lake) Put(ctx context.Context, key string, r io.Reader) (lake.Object, error) {
	if _, err := l.Path(key); err != nil {
		return lake.Object{}, err
	}
	f, err := l.TempFile("put-*")
	if err != nil {
		return lake.Object{}, err
	}
	_, err = io.Copy(f, contextReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return lake.Object{}, fmt.Errorf("lake: put %s: %w", key, err)
	}
	return l.PutFile(ctx, key, f.Name())
}

func (l *Lake) PutFile(ctx context.Context, key, path string) (lake.Object, error) {
	dst, err := l.Path(key)
	if err != nil {
		return lake.Object{}, err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return lake.Object{}, err
	}
	if err := os.Rename(path, dst); err != nil {
		// Another filesystem: copy through a temporary file instead.
		f, oerr := os.Open(path)
		if oerr != nil {
			return lake.Object{}, fmt.Errorf("lake: put %s: %w", key, err)
		}
		defer f.Close()
		return l.Put(ctx, key, f)
	}
	return l.Stat(ctx, key)
}

func (l *Lake) Copy(ctx context.Context, src, dst string) (lake.Object, error) {
	sp, err := l.Path(src)
	if err != nil {
		return lake.Object{}, err
	}
	dp, err := l.Path(dst)
	if err != nil {
		return lake.Object{}, err
	}
	if _, err := os.Stat(sp); errors.Is(err, fs.ErrNotExist) {
		return lake.Object{}, fmt.Errorf("lake: copy %s: %w", src, lake.ErrNotFound)
	}
	if err := os.MkdirAll(filepath.Dir(dp), 0o755); err != nil {
		return lake.Object{}, err
	}
	// A hard link is a free copy: objects are replaced, never edited, so
	// the two names can never diverge in content. Link to a temporary name
	// first so an existing destination is replaced atomically.
	tmp := filepath.Join(l.root, tmpDir, fmt.Sprintf("link-%d-%d", os.Getpid(), linkSeq.Add(1)))
	if err := os.Link(sp, tmp); err == nil {
		if err := os.Rename(tmp, dp); err != nil {
			os.Remove(tmp)
			return lake.Object{}, err
		}
		return l.Stat(ctx, dst)
	}
	r, err := l.Open(ctx, src)
	if err != nil {
		return lake.Object{}, err
	}
	defer r.Close()
	return l.Put(ctx, dst, r)
}

func (l *Lake) Delete(_ context.Context, key string) error {
	p, err := l.Path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// Tidy directories the delete emptied, up to the zone.
	for dir := filepath.Dir(p); dir != l.root && filepath.Dir(dir) != l.root; dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// Local returns the object's own file: nothing to copy or release.
func (l *Lake) Local(ctx context.Context, key, _ string) (string, func(), error) {
	if _, err := l.Stat(ctx, key); err != nil {
		return "", nil, err
	}
	p, _ := l.Path(key)
	return p, func() {}, nil
}

type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
