package platform

import (
	"testing"

	"github.com/fusiondata/fusion/services/runtime/config"
)

// A worker's spans are fusion-<worker>'s; OTEL_SERVICE_NAME renames the
// service of a process running one worker, never the five of fusion run.
func TestServiceNames(t *testing.T) {
	plain := &Platform{Config: config.Config{}}
	named := &Platform{Config: config.Config{Tracing: config.Tracing{ServiceName: "etl-loader"}}}
	for _, tc := range []struct {
		p       *Platform
		workers int
		want    string
	}{
		{plain, 1, "fusion-loader"},
		{plain, 5, "fusion-loader"},
		{named, 1, "etl-loader"},
		{named, 5, "fusion-loader"},
	} {
		if got := tc.p.serviceName("loader", tc.workers); got != tc.want {
			t.Errorf("service of the loader among %d workers, OTEL_SERVICE_NAME=%q: %q, want %q", tc.workers, tc.p.Config.Tracing.ServiceName, got, tc.want)
		}
	}
	if got := plain.serviceName("", 5); got != "fusion" {
		t.Errorf("the process's own service %q", got)
	}
}
