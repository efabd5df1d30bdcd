package platform

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

var echoLoopEnded atomic.Bool

func init() {
	worker.Register("http_echo_test", func(worker.Deps) (*worker.Worker, error) {
		return &worker.Worker{Name: "http_echo_test", Attach: func(h *worker.Host) error {
			if h.Bus == nil || h.Batches == nil || h.Announce == nil {
				return errors.New("the host lacks the bus, batches or announcements")
			}
			h.Handle("GET /v1/echo/{word}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "echo "+r.PathValue("word"))
			}))
			h.Go(func(ctx context.Context) error {
				<-ctx.Done()
				echoLoopEnded.Store(true)
				return ctx.Err()
			})
			return nil
		}}, nil
	})
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// One HTTP server per process serves /healthz and every hosted worker's
// routes on FUSION_HTTP_ADDR while Run runs; a worker's loops run until
// Run ends, which waits for them.
func TestWorkersServeHTTPAndRunLoops(t *testing.T) {
	p, err := Open(config.Config{Home: t.TempDir(), HTTPAddr: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, RunOptions{Workers: []string{"http_echo_test"}}) }()
	for p.HTTPAddr() == "" {
		select {
		case err := <-done:
			t.Fatalf("run ended: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	base := "http://" + p.HTTPAddr()
	if code, body := get(t, base+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, body := get(t, base+"/v1/echo/hello"); code != 200 || body != "echo hello" {
		t.Errorf("/v1/echo/hello: %d %s", code, body)
	}
	if code, _ := get(t, base+"/v1/nothing"); code != http.StatusNotFound {
		t.Errorf("an unknown path: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !echoLoopEnded.Load() {
		t.Error("Run returned before the worker's loop ended")
	}
	if p.HTTPAddr() != "" {
		t.Error("still serving after Run")
	}
}

func TestHTTPAddrInUseFailsRun(t *testing.T) {
	p, err := Open(config.Config{Home: t.TempDir(), HTTPAddr: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, RunOptions{Workers: []string{"http_echo_test"}}) }()
	for p.HTTPAddr() == "" {
		time.Sleep(5 * time.Millisecond)
	}
	q, err := Open(config.Config{Home: t.TempDir(), HTTPAddr: p.HTTPAddr()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Run(context.Background(), RunOptions{Workers: []string{"http_echo_test"}}); err == nil || !strings.Contains(err.Error(), "FUSION_HTTP_ADDR") {
		t.Errorf("a second server on the same address: %v", err)
	}
	cancel()
	<-done
}
