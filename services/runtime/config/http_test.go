package config

import (
	"strings"
	"testing"
)

func TestHTTPAddr(t *testing.T) {
	c, err := FromEnv([]string{"FUSION_HTTP_ADDR=127.0.0.1:0"})
	if err != nil || c.HTTPAddr != "127.0.0.1:0" {
		t.Errorf("%q %v", c.HTTPAddr, err)
	}
	if c, err := FromEnv(nil); err != nil || c.HTTPAddr != "" {
		t.Errorf("default %q %v", c.HTTPAddr, err)
	}
	if _, err := FromEnv([]string{"FUSION_HTTP_ADDR=8080"}); err == nil || !strings.Contains(err.Error(), `FUSION_HTTP_ADDR="8080": use host:port`) {
		t.Errorf("bad address: %v", err)
	}
}
