package fslake

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/lake/laketest"
)

func TestConformance(t *testing.T) {
	laketest.Run(t, func(t *testing.T) lake.Lake {
		l, err := Open(t.TempDir(), "fusion-lake")
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}

func TestLayoutAndTmpIsHidden(t *testing.T) {
	root := t.TempDir()
	l, err := Open(root, "fusion-lake")
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range lake.Zones {
		if st, err := os.Stat(filepath.Join(root, z)); err != nil || !st.IsDir() {
			t.Errorf("zone %s missing", z)
		}
	}
	f, _ := l.TempFile("x-*")
	f.Close()
	objs, _ := l.List(context.Background(), "")
	if len(objs) != 0 {
		t.Errorf("temporary files listed: %v", objs)
	}
	if _, err := l.Path(".tmp/x"); err == nil {
		t.Error(".tmp is addressable")
	}
}
