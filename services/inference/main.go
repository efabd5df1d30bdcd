// Command inference runs fusion's inference worker, which scores datasets with registered LightGBM and XGBoost models.
package main

import (
	"os"

	_ "github.com/fusiondata/fusion/services/inference/handler"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/platform"
)

func main() {
	cfg, err := config.FromEnv(os.Environ())
	os.Exit(platform.Main("inference", cfg, err, os.Args[1:]))
}
