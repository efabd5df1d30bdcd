package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/fusiondata/fusion/services/runtime/worker"
)

// httpEndpoint is the address the process's HTTP server listens on while
// Run runs.
type httpEndpoint struct {
	mu   sync.Mutex
	addr string
}

// serveHTTP serves the workers' routes and /healthz on Config.HTTPAddr,
// when set, until the returned stop is called: one server per process,
// whichever workers it runs. An address that cannot be listened on fails
// Run: whoever set it expects the endpoints there.
func (p *Platform) serveHTTP(routes []worker.Route) (stop func(), err error) {
	if p.Config.HTTPAddr == "" {
		return func() {}, nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	})
	for _, r := range routes {
		mux.Handle(r.Pattern, r.Handler)
	}
	ln, err := net.Listen("tcp", p.Config.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("FUSION_HTTP_ADDR: %w", err)
	}
	srv := &http.Server{Handler: accessLog(p.Log, mux), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.Log.Error("http server stopped", "error", err.Error())
		}
	}()
	p.http.set(ln.Addr().String())
	p.Log.Info("http served", "url", "http://"+ln.Addr().String(), "routes", len(routes))
	return func() {
		p.http.set("")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			p.Log.Warn("http server stopped", "error", err.Error())
		}
		<-done
	}, nil
}

// HTTPAddr is the address the workers' HTTP endpoints are served on while
// Run runs (the port chosen when Config.HTTPAddr asks for port 0), ""
// otherwise.
func (p *Platform) HTTPAddr() string {
	p.http.mu.Lock()
	defer p.http.mu.Unlock()
	return p.http.addr
}

func (e *httpEndpoint) set(a string) {
	e.mu.Lock()
	e.addr = a
	e.mu.Unlock()
}

// accessLog logs each request at debug level: method, path, status,
// bytes written and duration.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Debug("http request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "bytes", rec.bytes,
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "remote", r.RemoteAddr)
	})
}

// recorder remembers a response's status and size for the access log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}
