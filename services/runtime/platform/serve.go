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
)

// serve listens on addr (host:port; port 0 picks a free one) and serves h
// until stop is called. It fails at once when the address cannot be
// listened on: whoever set it expects the server there.
func serve(addr string, h http.Handler, log *slog.Logger) (bound net.Addr, stop func() error, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "addr", ln.Addr().String(), "error", err.Error())
		}
	}()
	return ln.Addr(), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(ctx)
		<-done
		return err
	}, nil
}

// boundAddr is the address one of Run's servers listens on, "" while it
// does not run.
type boundAddr struct {
	mu   sync.Mutex
	addr string
}

func (b *boundAddr) set(a string) {
	b.mu.Lock()
	b.addr = a
	b.mu.Unlock()
}

func (b *boundAddr) get() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr
}
