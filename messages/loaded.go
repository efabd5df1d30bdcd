package messages

import (
	"errors"
	"fmt"
)

// DatasetLoaded says that loader applied a dataset to a warehouse table.
// Applied is false when the load id had been applied before and this
// delivery changed nothing.
type DatasetLoaded struct {
	RunRef
	TraceContext
	Dataset   DatasetRef `json:"dataset"`
	Warehouse string     `json:"warehouse"` // duckdb, postgres, snowflake
	Table     string     `json:"table"`
	LoadID    string     `json:"load_id"`
	Rows      int64      `json:"rows"`
	Applied   bool       `json:"applied"`
}

const TypeDatasetLoaded = "fusion.dataset.loaded.v1"

func init() { register[DatasetLoaded](TypeDatasetLoaded, "fusion.loader") }

func (d *DatasetLoaded) IdentityKey() string { return d.LoadID }

func (d *DatasetLoaded) Validate() error {
	var err error
	if d.Table == "" || d.LoadID == "" {
		err = fmt.Errorf("table and load_id are required")
	}
	return errors.Join(d.RunRef.Validate(), err)
}
