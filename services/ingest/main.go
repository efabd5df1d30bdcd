// Command ingest runs fusion's ingest worker, which validates landed files, keeps their bytes in the raw zone and writes typed Parquet.
package main

import (
	"os"

	_ "github.com/fusiondata/fusion/services/ingest/handler"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/platform"
)

func main() {
	cfg, err := config.FromEnv(os.Environ())
	os.Exit(platform.Main("ingest", cfg, err, os.Args[1:]))
}
