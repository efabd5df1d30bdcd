// Package laketest is the conformance suite every lake.Lake implementation
// runs, so the local lake and S3 keep the same rules.
package laketest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/lake"
)

// Run checks the rules of the lake.Lake interface against a fresh lake.
func Run(t *testing.T, newLake func(t *testing.T) lake.Lake) {
	ctx := context.Background()

	t.Run("PutOpenStat", func(t *testing.T) {
		l := newLake(t)
		obj, err := l.Put(ctx, "raw/p/r1/data.csv", strings.NewReader("a,b\n1,2\n"))
		if err != nil {
			t.Fatal(err)
		}
		if obj.Key != "raw/p/r1/data.csv" || obj.Size != 8 || obj.ETag == "" {
			t.Errorf("put returned %+v", obj)
		}
		st, err := l.Stat(ctx, "raw/p/r1/data.csv")
		if err != nil || st.Size != 8 || st.ETag != obj.ETag {
			t.Errorf("stat %+v %v", st, err)
		}
		assertContent(t, l, "raw/p/r1/data.csv", "a,b\n1,2\n")
	})

	t.Run("MissingKeys", func(t *testing.T) {
		l := newLake(t)
		if _, err := l.Stat(ctx, "raw/none"); !errors.Is(err, lake.ErrNotFound) {
			t.Errorf("stat: %v", err)
		}
		if _, err := l.Open(ctx, "raw/none"); !errors.Is(err, lake.ErrNotFound) {
			t.Errorf("open: %v", err)
		}
		if err := l.Delete(ctx, "raw/none"); err != nil {
			t.Errorf("delete missing: %v", err)
		}
	})

	t.Run("RefusesEscapingKeys", func(t *testing.T) {
		l := newLake(t)
		for _, k := range []string{"../outside", "raw/../../x", "/etc/passwd", "raw/./x"} {
			if _, err := l.Put(ctx, k, strings.NewReader("x")); err == nil {
				t.Errorf("put %q accepted", k)
			}
			if _, err := l.Open(ctx, k); err == nil || errors.Is(err, lake.ErrNotFound) {
				t.Errorf("open %q: %v", k, err)
			}
		}
	})

	t.Run("ListIsRecursiveAndSorted", func(t *testing.T) {
		l := newLake(t)
		for _, k := range []string{"curated/p/r2/b.parquet", "curated/p/r1/a.parquet", "curated/q/r1/c.parquet", "raw/p/r1/x"} {
			if _, err := l.Put(ctx, k, strings.NewReader(k)); err != nil {
				t.Fatal(err)
			}
		}
		got := keys(t, l, "curated/p/")
		want := []string{"curated/p/r1/a.parquet", "curated/p/r2/b.parquet"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("list curated/p/ = %v", got)
		}
		if got := keys(t, l, "curated/"); len(got) != 3 {
			t.Errorf("list curated/ = %v", got)
		}
		if got := keys(t, l, "curated/p/r1/a"); len(got) != 1 {
			t.Errorf("list by partial name = %v", got)
		}
	})

	t.Run("ReplaceIsWholeAndCopiesKeepTheirBytes", func(t *testing.T) {
		l := newLake(t)
		if _, err := l.Put(ctx, "landing/p/f.csv", strings.NewReader("version 1")); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Copy(ctx, "landing/p/f.csv", "raw/p/r/f.csv"); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Put(ctx, "landing/p/f.csv", strings.NewReader("version 2, longer")); err != nil {
			t.Fatal(err)
		}
		assertContent(t, l, "raw/p/r/f.csv", "version 1")
		assertContent(t, l, "landing/p/f.csv", "version 2, longer")
		if _, err := l.Copy(ctx, "landing/p/none", "raw/x"); !errors.Is(err, lake.ErrNotFound) {
			t.Errorf("copy of a missing key: %v", err)
		}
	})

	t.Run("PutFileAndLocal", func(t *testing.T) {
		l := newLake(t)
		src := filepath.Join(t.TempDir(), "out.parquet")
		if err := os.WriteFile(src, []byte("PAR1...PAR1"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := l.PutFile(ctx, "curated/p/r/out.parquet", src); err != nil {
			t.Fatal(err)
		}
		path, release, err := l.Local(ctx, "curated/p/r/out.parquet", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		b, err := os.ReadFile(path)
		if err != nil || string(b) != "PAR1...PAR1" {
			t.Errorf("local copy %q %v", b, err)
		}
	})

	t.Run("FailedPutLeavesNothing", func(t *testing.T) {
		l := newLake(t)
		_, err := l.Put(ctx, "raw/p/r/partial", io.MultiReader(strings.NewReader("half"), failingReader{}))
		if err == nil {
			t.Fatal("put of a failing reader succeeded")
		}
		if _, err := l.Stat(ctx, "raw/p/r/partial"); !errors.Is(err, lake.ErrNotFound) {
			t.Errorf("a failed put left an object: %v", err)
		}
	})

	t.Run("ConcurrentPutsOfOneKeyStayWhole", func(t *testing.T) {
		l := newLake(t)
		a, b := bytes.Repeat([]byte("a"), 1<<20), bytes.Repeat([]byte("b"), 1<<20)
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				body := a
				if i%2 == 1 {
					body = b
				}
				if _, err := l.Put(ctx, "raw/p/r/same", bytes.NewReader(body)); err != nil {
					t.Error(err)
				}
			}(i)
		}
		wg.Wait()
		r, err := l.Open(ctx, "raw/p/r/same")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got, _ := io.ReadAll(r)
		if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
			t.Error("concurrent puts interleaved")
		}
	})
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func keys(t *testing.T, l lake.Lake, prefix string) []string {
	t.Helper()
	objs, err := l.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

func assertContent(t *testing.T, l lake.Lake, key, want string) {
	t.Helper()
	r, err := l.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || string(got) != want {
		t.Errorf("%s = %q (%v), want %q", key, got, err, want)
	}
}
