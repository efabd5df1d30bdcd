//go:build aws

package s3lake

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/awstest"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/lake/laketest"
)

func TestConformance(t *testing.T) {
	c := awstest.Clients(t)
	laketest.Run(t, func(t *testing.T) lake.Lake { return New(c.S3, awstest.Bucket(t, c)) })
}

// TestLargeObjectsGoInParts puts and copies an object over the part size.
func TestLargeObjectsGoInParts(t *testing.T) {
	c := awstest.Clients(t)
	l := New(c.S3, awstest.Bucket(t, c))
	ctx := context.Background()
	body := make([]byte, PartSize*2+12345)
	rand.Read(body)
	obj, err := l.Put(ctx, "raw/p/r/big.bin", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if obj.Size != int64(len(body)) {
		t.Errorf("size %d", obj.Size)
	}
	if _, err := l.Copy(ctx, "raw/p/r/big.bin", "quarantine/p/r/big.bin"); err != nil {
		t.Fatal(err)
	}
	path, release, err := l.Local(ctx, "quarantine/p/r/big.bin", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, body) {
		t.Error("downloaded bytes differ")
	}
	r, _ := l.Open(ctx, "raw/p/r/big.bin")
	defer r.Close()
	n, _ := io.Copy(io.Discard, r)
	if n != int64(len(body)) {
		t.Errorf("streamed %d bytes", n)
	}
	f := filepath.Join(t.TempDir(), "up.bin")
	os.WriteFile(f, body, 0o644)
	if _, err := l.PutFile(ctx, "curated/p/r/up.bin", f); err != nil {
		t.Fatal(err)
	}
	if st, err := l.Stat(ctx, "curated/p/r/up.bin"); err != nil || st.Size != int64(len(body)) {
		t.Errorf("stat %+v %v", st, err)
	}
}
