package artifacts

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestSidecarBounded: a .sha256 sidecar (or index signature) that never
// ends is refused after a few kilobytes, not read into memory up to 64 MiB.
func TestSidecarBounded(t *testing.T) {
	body := elfBytes(t, 2000)
	var streamed atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case artifactPath():
			w.Write(body)
		case artifactPath() + ".sha256":
			line := []byte(hexSum(body) + strings.Repeat(" ", 4000) + "\n")
			for streamed.Load() < 80<<20 {
				n, err := w.Write(line)
				streamed.Add(int64(n))
				if err != nil {
					return
				}
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	s, _ := NewHTTPStore(srv.URL, Options{HTTP: fastHTTP()})
	c := &Cache{Dir: t.TempDir()}
	_, err := c.Fetch(context.Background(), s, testID, FetchOptions{})
	if !errors.Is(err, ErrIntegrity) || !strings.Contains(err.Error(), ".sha256") {
		t.Fatalf("endless sidecar: %v, want ErrIntegrity naming the sidecar", err)
	}
	// The server may have filled socket buffers; it must not have sent
	// anything like the old 64 MiB limit.
	if n := streamed.Load(); n > 16<<20 {
		t.Errorf("client read %d bytes of a sidecar", n)
	}
	assertNothingTrusted(t, c, testID)
}

// TestInsecureNotSilent: --insecure turns TLS verification off for every
// store; it says so.
func TestInsecureNotSilent(t *testing.T) {
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if _, err := OpenAll([]string{"https://mirror.example/drivers"}, Options{Insecure: true, Logger: log}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "not verified") {
		t.Errorf("--insecure logged %q, want a warning", logs.String())
	}
}
