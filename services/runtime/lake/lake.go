// Package lake defines the object store every worker reads and writes: the
// local directory of the embedded tier, S3 on AWS. Zones are key prefixes.
package lake

import (
	"context"
	"errors"
	"io"
	"path"
	"time"
)

// Lake stores objects by key, like an S3 bucket.
//
// Rules every implementation keeps:
//   - keys use "/" and pass messages.ValidKey; anything else is refused;
//   - an object becomes visible only complete: a reader never sees a
//     partially written object, and a failed write leaves nothing behind;
//   - writing a key replaces the whole object (objects are never edited
//     in place), so a copy taken earlier keeps its bytes;
//   - deleting a missing key is not an error;
//   - Open and Stat of a missing key return an error wrapping ErrNotFound.
type Lake interface {
	// Bucket names the lake in events (the S3 bucket, or the local lake's name).
	Bucket() string
	Stat(ctx context.Context, key string) (Object, error)
	// List returns every object under prefix, recursively, sorted by key.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Open streams an object's bytes.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Put streams r into key.
	Put(ctx context.Context, key string, r io.Reader) (Object, error)
	// PutFile stores a local file under key. The lake may move the file
	// instead of copying it: the caller must not use path afterwards.
	PutFile(ctx context.Context, key, path string) (Object, error)
	Copy(ctx context.Context, src, dst string) (Object, error)
	Delete(ctx context.Context, key string) error
	// Local makes an object readable as a local file (for engines such as
	// DuckDB that read paths) and returns a release func that removes any
	// temporary copy. tmpDir is where a copy may go.
	Local(ctx context.Context, key, tmpDir string) (path string, release func(), err error)
}

// Object describes a stored object.
type Object struct {
	Key      string
	Size     int64
	ETag     string
	Modified time.Time
}

// ErrNotFound is wrapped by Open and Stat for a missing key.
var ErrNotFound = errors.New("object not found")

// The lake's zones.
const (
	Landing     = "landing"
	Raw         = "raw"
	Curated     = "curated"
	Training    = "training"
	Predictions = "predictions"
	Quarantine  = "quarantine"
	Models      = "models"
)

// Zones lists the zones a new lake is laid out with.
var Zones = []string{Landing, Raw, Curated, Training, Predictions, Quarantine, Models}

// RunKey is the key of a run's output object: <zone>/<pipeline>/<run>/<name>.
func RunKey(zone, pipeline, runID, name string) string {
	return path.Join(zone, pipeline, runID, name)
}
