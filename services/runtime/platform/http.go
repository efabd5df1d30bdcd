package platform

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/fusiondata/fusion/services/runtime/worker"
)

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
	addr, shutdown, err := serve(p.Config.HTTPAddr, accessLog(p.Log, mux), p.Log)
	if err != nil {
		return nil, fmt.Errorf("FUSION_HTTP_ADDR: %w", err)
	}
	p.http.set(addr.String())
	p.Log.Info("http served", "url", "http://"+addr.String(), "routes", len(routes))
	return func() {
		p.http.set("")
		if err := shutdown(); err != nil {
			p.Log.Warn("http server stopped", "error", err.Error())
		}
	}, nil
}

// HTTPAddr is the address the workers' HTTP endpoints are served on while
// Run runs (the port chosen when Config.HTTPAddr asks for port 0), ""
// otherwise.
func (p *Platform) HTTPAddr() string { return p.http.get() }

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
