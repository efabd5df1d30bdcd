package pipeline

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fusiondata/fusion/messages"
)

// Endpoint is one side of a copy activity:
//
//	lake:<key or prefix>          the lake (a directory locally, S3 on AWS)
//	s3://<bucket>/<key or prefix> the lake too, by its bucket (it must be the lake's)
//	dataset:<name>                the run's own dataset (a source only): raw,
//	                              curated, train, validation, test, predictions
//	                              or manifest (the training set's manifest.json)
//	postgres://<connection>/<table>  a table of the database FUSION_CONN_<CONNECTION>;
//	postgres://<connection>          with a copy's query, as a source
//
// Keys and tables may use {{run_id}}, {{pipeline}} and {{date}}.
type Endpoint struct {
	Kind       string // EndpointLake, EndpointDataset or EndpointPostgres
	Bucket     string // the bucket an s3:// endpoint names; "" for lake:
	Key        string // a lake key or prefix
	Dataset    string // a dataset:<name>
	Connection string // a postgres:// endpoint's connection
	Table      string // its table, possibly schema-qualified; "" with a query
}

// Endpoint kinds.
const (
	EndpointLake     = "lake"
	EndpointDataset  = "dataset"
	EndpointPostgres = "postgres"
)

// Datasets an activity may name: a run's datasets, by their zone's
// object names (see services/runtime/activity).
const DatasetManifest = "manifest"

// ActivityDatasets lists the dataset names dataset: and shell.dataset accept.
var ActivityDatasets = []string{DatasetRaw, DatasetCurated, "train", "validation", "test", DatasetPredictions, DatasetManifest}

// ParseEndpoint reads an endpoint.
func ParseEndpoint(s string) (Endpoint, error) {
	switch {
	case strings.HasPrefix(s, "lake:"):
		e := Endpoint{Kind: EndpointLake, Key: strings.TrimPrefix(s, "lake:")}
		return e, checkKey(e.Key)
	case strings.HasPrefix(s, "s3://"):
		bucket, key, _ := strings.Cut(strings.TrimPrefix(s, "s3://"), "/")
		if bucket == "" {
			return Endpoint{}, errors.New("s3:// needs a bucket: s3://<lake bucket>/<prefix>")
		}
		return Endpoint{Kind: EndpointLake, Bucket: bucket, Key: key}, checkKey(key)
	case strings.HasPrefix(s, "dataset:"):
		name := strings.TrimPrefix(s, "dataset:")
		for _, d := range ActivityDatasets {
			if d == name {
				return Endpoint{Kind: EndpointDataset, Dataset: name}, nil
			}
		}
		return Endpoint{}, fmt.Errorf("dataset %q is none of %s", name, strings.Join(ActivityDatasets, ", "))
	case strings.HasPrefix(s, "postgres://"):
		conn, table, hasTable := strings.Cut(strings.TrimPrefix(s, "postgres://"), "/")
		if !messages.ValidName(conn) {
			return Endpoint{}, fmt.Errorf("postgres://<connection>/<table>: %q does not name a connection (FUSION_CONN_<NAME>; lower case letters, digits, underscores)", conn)
		}
		e := Endpoint{Kind: EndpointPostgres, Connection: conn, Table: table}
		if hasTable && table == "" {
			return Endpoint{}, errors.New("postgres://<connection>/<table>: the table is missing")
		}
		if table != "" {
			parts, err := ParseSQLName(sample(table))
			if err != nil {
				return Endpoint{}, fmt.Errorf("%q is not a table name: %v", table, err)
			}
			if len(parts) > 2 {
				return Endpoint{}, fmt.Errorf("%q has %d parts; use table or schema.table", table, len(parts))
			}
		}
		return e, checkTemplate(table)
	}
	return Endpoint{}, fmt.Errorf("%q is not an endpoint: use lake:<prefix>, s3://<bucket>/<prefix>, dataset:<name> or postgres://<connection>/<table>", s)
}

func checkKey(key string) error {
	if err := checkTemplate(key); err != nil {
		return err
	}
	if key == "" {
		return errors.New("the key or prefix is missing")
	}
	return messages.ValidKey(sample(key))
}

// IsPrefix reports whether a lake endpoint names a prefix (ends in /)
// rather than one object.
func (e Endpoint) IsPrefix() bool { return strings.HasSuffix(e.Key, "/") }

// String writes the endpoint as a pipeline file does.
func (e Endpoint) String() string {
	switch e.Kind {
	case EndpointLake:
		if e.Bucket != "" {
			return "s3://" + e.Bucket + "/" + e.Key
		}
		return "lake:" + e.Key
	case EndpointDataset:
		return "dataset:" + e.Dataset
	case EndpointPostgres:
		if e.Table == "" {
			return "postgres://" + e.Connection
		}
		return "postgres://" + e.Connection + "/" + e.Table
	}
	return ""
}

// Expand substitutes the endpoint's placeholders.
func (e Endpoint) Expand(v Vars) Endpoint {
	e.Key, e.Table = v.Expand(e.Key), v.Expand(e.Table)
	return e
}
