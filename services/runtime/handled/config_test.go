package handled

import (
	"strings"
	"testing"
	"time"
)

func TestConfig(t *testing.T) {
	s, err := NewDynamo(nil, Config{Table: "fusion-handled"})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.Retention != DefaultRetention || DefaultRetention != 14*24*time.Hour || s.cfg.Now == nil {
		t.Errorf("defaults %+v", s.cfg)
	}
	_, err = NewDynamo(nil, Config{Retention: time.Second})
	if err == nil || !strings.Contains(err.Error(), "no table") || !strings.Contains(err.Error(), "retention") {
		t.Errorf("got %v", err)
	}
}
