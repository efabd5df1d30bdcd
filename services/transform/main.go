// Command transform runs fusion's transform worker, which runs a pipeline's SQL over ingested data and writes the curated zone.
package main

import (
	"os"

	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/platform"
	_ "github.com/fusiondata/fusion/services/transform/handler"
)

func main() {
	cfg, err := config.FromEnv(os.Environ())
	os.Exit(platform.Main("transform", cfg, err, os.Args[1:]))
}
