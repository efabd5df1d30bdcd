// Package s3lake is the lake on S3: one bucket, zones as key prefixes.
// Large objects go up in parallel multipart uploads and come down in
// parallel ranged reads; reads stream.
package s3lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/lake"
)

// PartSize is the multipart chunk: objects above it upload in parallel parts.
const PartSize = 16 << 20

// maxCopy is S3's limit for a single CopyObject; larger objects are copied
// part by part.
const maxCopy = 5 << 30

// Lake stores objects in one S3 bucket.
type Lake struct {
	client   *s3.Client
	bucket   string
	uploader *manager.Uploader
	download *manager.Downloader
}

var _ lake.Lake = (*Lake)(nil)

// New returns the lake in bucket, using client.
func New(client *s3.Client, bucket string) *Lake {
	return &Lake{
		client: client,
		bucket: bucket,
		uploader: manager.NewUploader(client, func(u *manager.Uploader) {
			u.PartSize = PartSize
			u.Concurrency = 4
		}),
		download: manager.NewDownloader(client, func(d *manager.Downloader) {
			d.PartSize = PartSize
			d.Concurrency = 4
		}),
	}
}

func (l *Lake) Bucket() string { return l.bucket }

func check(key string) error {
	if err := messages.ValidKey(key); err != nil {
		return fmt.Errorf("lake: %w", err)
	}
	return nil
}

// notFound maps S3's missing-object errors to lake.ErrNotFound.
func notFound(key string, err error) error {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	var api smithy.APIError
	if errors.As(err, &nsk) || errors.As(err, &nf) || (errors.As(err, &api) && (api.ErrorCode() == "NotFound" || api.ErrorCode() == "NoSuchKey")) {
		return fmt.Errorf("lake: s3://%s: %w", key, lake.ErrNotFound)
	}
	return err
}

func (l *Lake) Stat(ctx context.Context, key string) (lake.Object, error) {
	if err := check(key); err != nil {
		return lake.Object{}, err
	}
	out, err := l.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &l.bucket, Key: &key})
	if err != nil {
		return lake.Object{}, notFound(l.bucket+"/"+key, err)
	}
	return lake.Object{Key: key, Size: aws.ToInt64(out.ContentLength), ETag: strings.Trim(aws.ToString(out.ETag), `"`), Modified: aws.ToTime(out.LastModified)}, nil
}

func (l *Lake) List(ctx context.Context, prefix string) ([]lake.Object, error) {
	var out []lake.Object
	pages := s3.NewListObjectsV2Paginator(l.client, &s3.ListObjectsV2Input{Bucket: &l.bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("lake: list s3://%s/%s: %w", l.bucket, prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, lake.Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), ETag: strings.Trim(aws.ToString(o.ETag), `"`), Modified: aws.ToTime(o.LastModified)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (l *Lake) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := check(key); err != nil {
		return nil, err
	}
	out, err := l.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &l.bucket, Key: &key})
	if err != nil {
		return nil, notFound(l.bucket+"/"+key, err)
	}
	return out.Body, nil
}

// countingReader counts what an upload read, since S3 does not say.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Put streams r to key; the upload manager switches to a multipart upload
// (and aborts it on failure, leaving nothing) when r is larger than a part.
func (l *Lake) Put(ctx context.Context, key string, r io.Reader) (lake.Object, error) {
	if err := check(key); err != nil {
		return lake.Object{}, err
	}
	cr := &countingReader{r: r}
	out, err := l.uploader.Upload(ctx, &s3.PutObjectInput{Bucket: &l.bucket, Key: &key, Body: cr})
	if err != nil {
		return lake.Object{}, fmt.Errorf("lake: put s3://%s/%s: %w", l.bucket, key, err)
	}
	return lake.Object{Key: key, Size: cr.n, ETag: strings.Trim(aws.ToString(out.ETag), `"`)}, nil
}

// PutFile uploads a local file, in parallel parts when it is large, and
// removes the file: the lake may consume it.
func (l *Lake) PutFile(ctx context.Context, key, path string) (lake.Object, error) {
	if err := check(key); err != nil {
		return lake.Object{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return lake.Object{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return lake.Object{}, err
	}
	out, err := l.uploader.Upload(ctx, &s3.PutObjectInput{Bucket: &l.bucket, Key: &key, Body: f})
	if err != nil {
		return lake.Object{}, fmt.Errorf("lake: put s3://%s/%s: %w", l.bucket, key, err)
	}
	os.Remove(path)
	return lake.Object{Key: key, Size: st.Size(), ETag: strings.Trim(aws.ToString(out.ETag), `"`)}, nil
}

func (l *Lake) Copy(ctx context.Context, src, dst string) (lake.Object, error) {
	if err := check(dst); err != nil {
		return lake.Object{}, err
	}
	st, err := l.Stat(ctx, src)
	if err != nil {
		return lake.Object{}, err
	}
	source := url.PathEscape(l.bucket) + "/" + escapeKey(src)
	if st.Size > maxCopy {
		return l.copyParts(ctx, source, dst, st.Size)
	}
	out, err := l.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &l.bucket, Key: &dst, CopySource: &source})
	if err != nil {
		return lake.Object{}, notFound(l.bucket+"/"+src, err)
	}
	etag := ""
	if out.CopyObjectResult != nil {
		etag = strings.Trim(aws.ToString(out.CopyObjectResult.ETag), `"`)
	}
	return lake.Object{Key: dst, Size: st.Size, ETag: etag}, nil
}

// copyParts copies an object over 5 GiB with UploadPartCopy.
func (l *Lake) copyParts(ctx context.Context, source, dst string, size int64) (lake.Object, error) {
	up, err := l.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &l.bucket, Key: &dst})
	if err != nil {
		return lake.Object{}, err
	}
	abort := func(err error) (lake.Object, error) {
		l.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &l.bucket, Key: &dst, UploadId: up.UploadId})
		return lake.Object{}, err
	}
	const part = 512 << 20
	var parts []types.CompletedPart
	for n, off := int32(1), int64(0); off < size; n, off = n+1, off+part {
		end := min(off+part, size) - 1
		rng := fmt.Sprintf("bytes=%d-%d", off, end)
		out, err := l.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &l.bucket, Key: &dst, UploadId: up.UploadId,
			PartNumber: aws.Int32(n), CopySource: &source, CopySourceRange: &rng})
		if err != nil {
			return abort(err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.CopyPartResult.ETag})
	}
	out, err := l.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &l.bucket, Key: &dst, UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		return abort(err)
	}
	return lake.Object{Key: dst, Size: size, ETag: strings.Trim(aws.ToString(out.ETag), `"`)}, nil
}

func escapeKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func (l *Lake) Delete(ctx context.Context, key string) error {
	if err := check(key); err != nil {
		return err
	}
	_, err := l.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &l.bucket, Key: &key})
	if err != nil {
		if errors.Is(notFound(key, err), lake.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("lake: delete s3://%s/%s: %w", l.bucket, key, err)
	}
	return nil
}

// Local downloads the object into tmpDir with parallel ranged reads.
func (l *Lake) Local(ctx context.Context, key, tmpDir string) (string, func(), error) {
	if err := check(key); err != nil {
		return "", nil, err
	}
	f, err := os.CreateTemp(tmpDir, "s3-*-"+lastSegment(key))
	if err != nil {
		return "", nil, err
	}
	release := func() { os.Remove(f.Name()) }
	_, err = l.download.Download(ctx, f, &s3.GetObjectInput{Bucket: &l.bucket, Key: &key})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		release()
		return "", nil, notFound(l.bucket+"/"+key, err)
	}
	return f.Name(), release, nil
}

func lastSegment(key string) string {
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		return key[i+1:]
	}
	return key
}
