package platform

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// A server answers until stopped; an address that is taken fails at once.
func TestServeUntilStopped(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	addr, stop, err := serve("127.0.0.1:0", ok, log)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr.String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr.String() + "/"); err == nil {
		t.Error("still served after stop")
	}
	taken, stop2, err := serve("127.0.0.1:0", ok, log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop2()
	if _, _, err := serve(taken.String(), ok, log); err == nil || !strings.Contains(err.Error(), taken.String()) {
		t.Errorf("serving on a taken address: %v", err)
	}
}
