// Command fusion runs fusion's pipelines on a laptop — every worker in one
// process, on the embedded tier — and is the user's CLI: demo, run,
// ingest, query, runs.
package main

import (
	"os"

	"github.com/fusiondata/fusion/services/fusion/cli"
	"github.com/fusiondata/fusion/services/runtime/config"
)

func main() {
	cfg, err := config.FromEnv(os.Environ())
	os.Exit(cli.Execute(cfg, err, os.Args[1:], os.Stdout, os.Stderr))
}
