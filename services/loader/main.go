// Command loader runs fusion's loader worker, which loads curated rows and predictions into the warehouse exactly once.
package main

import (
	"os"

	_ "github.com/fusiondata/fusion/services/loader/handler"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/platform"
)

func main() {
	cfg, err := config.FromEnv(os.Environ())
	os.Exit(platform.Main("loader", cfg, err, os.Args[1:]))
}
