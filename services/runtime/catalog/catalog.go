// Package catalog records the datasets the workers produce: for each
// dataset and run, its schema, row count, location in the lake and the
// producing worker. It is how a later run, a person or a tool finds data.
package catalog

import (
	"context"
	"errors"
	"time"

	"github.com/fusiondata/fusion/messages"
)

// Dataset is one version of a dataset: what one run produced.
type Dataset struct {
	Name      string // <pipeline>.<dataset>, e.g. churn.curated
	RunID     string
	Pipeline  string
	Zone      string
	Format    string
	Objects   []string // lake keys
	Schema    []messages.Column
	Rows      int64
	Bytes     int64
	Producer  string // the worker that wrote it
	CreatedAt time.Time
}

// FromRef builds the catalog entry of a dataset an event announces.
func FromRef(ref messages.DatasetRef, run messages.RunRef, producer string, at time.Time) Dataset {
	return Dataset{Name: ref.Name, RunID: run.RunID, Pipeline: run.Pipeline, Zone: ref.Zone, Format: ref.Format,
		Objects: ref.Objects, Schema: ref.Schema, Rows: ref.Rows, Bytes: ref.Bytes, Producer: producer, CreatedAt: at}
}

// Catalog registers and finds datasets.
//
// Register is idempotent: registering (name, run) again replaces the entry,
// so a step that runs twice leaves one entry. Get and Latest return an
// error wrapping ErrNotFound when nothing matches.
type Catalog interface {
	Register(ctx context.Context, d Dataset) error
	Get(ctx context.Context, name, runID string) (Dataset, error)
	// Latest returns the most recently registered version of a dataset.
	Latest(ctx context.Context, name string) (Dataset, error)
	// Datasets lists the versions of a dataset (all datasets when name is
	// ""), newest first.
	Datasets(ctx context.Context, name string) ([]Dataset, error)
}

// ErrNotFound is wrapped when no dataset matches.
var ErrNotFound = errors.New("dataset not found")
