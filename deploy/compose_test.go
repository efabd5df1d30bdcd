package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
)

// TestComposeFileIsValid loads docker-compose.yml with compose-go, the
// loader `docker compose config` uses: schema, interpolation, anchors and
// merges must all hold.
func TestComposeFileIsValid(t *testing.T) {
	path, _ := filepath.Abs("../docker-compose.yml")
	opts, err := cli.NewProjectOptions([]string{path}, cli.WithOsEnv, cli.WithWorkingDirectory(filepath.Dir(path)), cli.WithName("fusion"))
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"moto", "jaeger", "postgres", "deploy", "ingest", "transform", "traindata", "inference", "loader", "ledger"} {
		if _, err := project.GetService(name); err != nil {
			t.Errorf("service %s: %v", name, err)
		}
	}
	ingest, _ := project.GetService("ingest")
	if ingest.Environment["FUSION_TRANSPORT"] == nil || *ingest.Environment["FUSION_TRANSPORT"] != "aws" {
		t.Errorf("ingest environment %v", ingest.Environment)
	}
	if dep, ok := ingest.DependsOn["deploy"]; !ok || dep.Condition != "service_completed_successfully" {
		t.Errorf("workers must wait for the stack: %v", ingest.DependsOn)
	}
	for _, name := range []string{"ingest", "inference"} {
		svc, _ := project.GetService(name)
		if addr := svc.Environment["FUSION_HTTP_ADDR"]; addr == nil || *addr != ":8080" || len(svc.Ports) != 1 || svc.Ports[0].Target != 8080 {
			t.Errorf("%s must serve its HTTP endpoints on 8080: %v %v", name, svc.Environment, svc.Ports)
		}
		if svc.Environment["FUSION_TRANSPORT"] == nil {
			t.Errorf("%s lost the workers' environment: %v", name, svc.Environment)
		}
	}
	if _, err := os.Stat("../Dockerfile"); err != nil {
		t.Error("the compose file builds from a Dockerfile at the root")
	}
}
