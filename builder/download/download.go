// Package download fetches files over HTTP and checks them against the size
// and SHA256 their repository metadata gives, and keeps a content-addressed
// cache of what it fetched. A file is only ever visible under its final name
// once it is complete and verified.
package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/kdriver/kdriver/artifacts"
)

var (
	// ErrDigest is returned when a file's SHA256 or size is not the one
	// its metadata gives: the mirror is corrupt or tampered with.
	ErrDigest = errors.New("digest mismatch")
	// ErrTooLarge is returned when a download exceeds its limit.
	ErrTooLarge = errors.New("too large")
)

// Want is what the metadata says about a file. Size < 0 means unknown.
type Want struct {
	Size   int64
	SHA256 string // lower-case hex; "" means unknown
}

// Bytes downloads url into memory, at most max bytes, and checks it.
func Bytes(ctx context.Context, c *http.Client, url string, want Want, max int64) ([]byte, error) {
	body, err := get(ctx, c, url)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, max+1))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", url, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("get %s: more than %d bytes: %w", url, max, ErrTooLarge)
	}
	sum := sha256.Sum256(b)
	if err := check(url, want, int64(len(b)), hex.EncodeToString(sum[:])); err != nil {
		return nil, err
	}
	return b, nil
}

// File downloads url to dst: into a temporary file next to it, checked,
// then renamed. On any error nothing is left at dst.
func File(ctx context.Context, c *http.Client, url string, want Want, dst string) error {
	body, err := get(ctx, c, url)
	if err != nil {
		return err
	}
	defer body.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".part-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	var r io.Reader = body
	if want.Size >= 0 {
		r = io.LimitReader(body, want.Size+1)
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	if err := check(url, want, n, hex.EncodeToString(h.Sum(nil))); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// get opens url with the artifact stores' HTTP policy (retries with
// backoff, resume of a cut-off body, idle and overall timeouts): one
// client stack for every download kdriver makes.
func get(ctx context.Context, c *http.Client, url string) (io.ReadCloser, error) {
	body, _, _, err := artifacts.Get(ctx, c, url, artifacts.HTTPOptions{})
	if errors.Is(err, artifacts.ErrNotFound) {
		return nil, fmt.Errorf("get %s: %w", url, ErrNotFound)
	}
	return body, err
}

// ErrNotFound is returned for a 404 or 410.
var ErrNotFound = errors.New("not found")

func check(url string, want Want, size int64, sum string) error {
	if want.Size >= 0 && size != want.Size {
		return fmt.Errorf("%s: size %d, metadata says %d: %w", url, size, want.Size, ErrDigest)
	}
	if want.SHA256 != "" && sum != want.SHA256 {
		return fmt.Errorf("%s: sha256 %s, metadata says %s (refusing it: the mirror is corrupt or tampered with): %w", url, sum, want.SHA256, ErrDigest)
	}
	return nil
}
