package messages

import (
	"errors"
	"fmt"
)

// ModelRef names one registered model version.
type ModelRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Format  string `json:"format"` // lightgbm, xgboost-json
}

// PredictionsReady says that inference scored a dataset with a model version.
type PredictionsReady struct {
	RunRef
	TraceContext
	Model   ModelRef   `json:"model"`
	Input   DatasetRef `json:"input"`
	Dataset DatasetRef `json:"dataset"`
}

const TypePredictionsReady = "fusion.predictions.ready.v1"

func init() { register[PredictionsReady](TypePredictionsReady, "fusion.inference") }

func (d *PredictionsReady) IdentityKey() string {
	return d.RunID + "/" + d.Dataset.Name + "/" + d.Model.Name + "@" + d.Model.Version
}

func (d *PredictionsReady) Validate() error {
	var err error
	if d.Model.Name == "" || d.Model.Version == "" {
		err = fmt.Errorf("model needs a name and a version")
	}
	return errors.Join(d.RunRef.Validate(), d.Dataset.Validate(), err)
}
