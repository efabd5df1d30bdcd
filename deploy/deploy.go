// Package deploy holds what fusion deploys besides code: the pipeline
// definitions and the registered sample models. They are embedded so that
// `fusion demo` and a new home work from the binary alone.
package deploy

import (
	"embed"
	"io/fs"
)

//go:embed pipelines/*.yaml
var pipelines embed.FS

//go:embed models
var models embed.FS

// Pipelines returns the sample pipeline definitions (*.yaml at the root).
func Pipelines() fs.FS {
	sub, _ := fs.Sub(pipelines, "pipelines")
	return sub
}

// Models returns the sample model registry: <name>/<version>/model.yaml
// and the model file beside it.
func Models() fs.FS {
	sub, _ := fs.Sub(models, "models")
	return sub
}
