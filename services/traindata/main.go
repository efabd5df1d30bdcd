// Command traindata runs fusion's traindata worker, which builds training sets: features, label, deterministic split and manifest.
package main

import (
	"os"

	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/platform"
	_ "github.com/fusiondata/fusion/services/traindata/handler"
)

func main() {
	cfg, err := config.FromEnv(os.Environ())
	os.Exit(platform.Main("traindata", cfg, err, os.Args[1:]))
}
