package artifacts

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestNoReservation: a server claiming 1 GiB for a 1 KB body gets no disk
// reserved for the claim while the download runs; and a partial file a
// killed run left behind is removed by the next run, even when that run
// finds the artifact in the cache.
func TestNoReservation(t *testing.T) {
	body := elfBytes(t, 1024)
	sent := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != artifactPath() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(1<<30))
		w.Write(body)
		w.(http.Flusher).Flush()
		select {
		case sent <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	defer srv.Close()
	s, _ := NewHTTPStore(srv.URL, Options{HTTP: HTTPOptions{Retries: -1, IdleTimeout: time.Minute}})
	c := &Cache{Dir: t.TempDir()}
	p, _ := c.Path(testID)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.Fetch(ctx, s, testID, FetchOptions{}); done <- err }()
	<-sent
	// The body is in flight: the partial file exists (its first bytes may
	// still be buffered); measure what it holds on disk.
	reserved := int64(-1)
	for range 100 {
		parts, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".*.part-*"))
		if len(parts) > 0 {
			time.Sleep(100 * time.Millisecond)
			var st syscall.Stat_t
			if err := syscall.Stat(parts[0], &st); err != nil {
				t.Fatal(err)
			}
			reserved = st.Blocks * 512
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if reserved < 0 {
		t.Fatal("no partial file while the body was in flight")
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("fetch: %v, want canceled", err)
	}
	if reserved > 1<<20 {
		t.Errorf("%d bytes on disk for a 1 KB body the server claimed was 1 GiB", reserved)
	}

	// A run killed mid-download leaves a partial file (here: a big sparse
	// reservation); a later run that finds the artifact cached removes it.
	good := &fileBody{data: body}
	if _, err := c.Fetch(context.Background(), good, testID, FetchOptions{}); err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".part-123456")
	f, _ := os.Create(left)
	f.Write(body)
	f.Close()
	r, err := c.Fetch(context.Background(), good, testID, FetchOptions{})
	if err != nil || !r.Cached {
		t.Fatalf("second fetch: %+v, %v", r, err)
	}
	if _, err := os.Stat(left); err == nil {
		t.Errorf("partial file of a killed run kept after a cache hit: %s", left)
	}
}

// fileBody is a store serving data with its digest.
type fileBody struct{ data []byte }

func (b *fileBody) Name() string { return "mem://" }

func (b *fileBody) Fetch(context.Context, ID) (io.ReadCloser, Descriptor, error) {
	return io.NopCloser(bytes.NewReader(b.data)), Descriptor{Digest: "sha256:" + hexSum(b.data), Size: int64(len(b.data)), Store: "mem://"}, nil
}
