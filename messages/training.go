package messages

import "errors"

// TrainingDataBuilt says that traindata wrote a training set: features and
// label split deterministically by key hash, plus a manifest with row
// counts, label balance and per-feature statistics.
type TrainingDataBuilt struct {
	RunRef
	TraceContext
	Input      DatasetRef `json:"input"`
	Train      DatasetRef `json:"train"`
	Validation DatasetRef `json:"validation"`
	Test       DatasetRef `json:"test"`
	Manifest   string     `json:"manifest"` // lake key of manifest.json
}

const TypeTrainingDataBuilt = "fusion.trainingdata.built.v1"

func init() { register[TrainingDataBuilt](TypeTrainingDataBuilt, "fusion.traindata") }

func (d *TrainingDataBuilt) IdentityKey() string { return d.RunID + "/training" }

func (d *TrainingDataBuilt) Validate() error {
	return errors.Join(d.RunRef.Validate(), d.Train.Validate(), d.Validation.Validate(), d.Test.Validate(), ValidKey(d.Manifest))
}

// Split returns the split dataset with the given name (train, validation, test).
func (d *TrainingDataBuilt) Split(name string) (DatasetRef, bool) {
	switch name {
	case "train":
		return d.Train, true
	case "validation":
		return d.Validation, true
	case "test":
		return d.Test, true
	}
	return DatasetRef{}, false
}
