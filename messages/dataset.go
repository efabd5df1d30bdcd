package messages

import "errors"

// DatasetIngested says that ingest validated a landed object, kept its
// bytes in the raw zone and wrote a typed Parquet copy of it.
type DatasetIngested struct {
	RunRef
	TraceContext
	Source  ObjectRef  `json:"source"`  // the object as it landed
	Raw     ObjectRef  `json:"raw"`     // its byte-identical copy in the raw zone
	Dataset DatasetRef `json:"dataset"` // the validated Parquet copy
	// Layer is batch for a Lambda pipeline's batch-layer recompute;
	// omitted otherwise (layer.go).
	Layer string `json:"layer,omitempty"`
}

// DatasetTransformed says that transform ran the pipeline's SQL over an
// ingested dataset and wrote the curated result.
type DatasetTransformed struct {
	RunRef
	TraceContext
	Input   DatasetRef `json:"input"`
	Dataset DatasetRef `json:"dataset"`
	// Layer is the ingested dataset's layer, carried on (layer.go).
	Layer string `json:"layer,omitempty"`
}

const (
	TypeDatasetIngested    = "fusion.dataset.ingested.v1"
	TypeDatasetTransformed = "fusion.dataset.transformed.v1"
)

func init() {
	register[DatasetIngested](TypeDatasetIngested, "fusion.ingest")
	register[DatasetTransformed](TypeDatasetTransformed, "fusion.transform")
}

func (d *DatasetIngested) IdentityKey() string    { return d.RunID + "/" + d.Dataset.Name }
func (d *DatasetTransformed) IdentityKey() string { return d.RunID + "/" + d.Dataset.Name }

func (d *DatasetIngested) Validate() error {
	return errors.Join(d.RunRef.Validate(), d.Dataset.Validate(), ValidKey(d.Raw.Key), validLayer(d.Layer))
}

func (d *DatasetTransformed) Validate() error {
	return errors.Join(d.RunRef.Validate(), d.Dataset.Validate(), validLayer(d.Layer))
}
