package config

import (
	"fmt"
	"net"
	"strconv"
)

// httpFromEnv reads FUSION_HTTP_ADDR: where a process that runs workers
// serves their HTTP endpoints (the ingest worker's stream records, the
// inference worker's real-time scores, /healthz).
func (c *Config) httpFromEnv(get func(string) string) []error {
	c.HTTPAddr = get("FUSION_HTTP_ADDR")
	return nil
}

func (c Config) validateHTTP() []error {
	if c.HTTPAddr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(c.HTTPAddr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		return []error{fmt.Errorf("FUSION_HTTP_ADDR=%q: use host:port, e.g. 127.0.0.1:8080 (port 0 picks a free one)", c.HTTPAddr)}
	}
	return nil
}
