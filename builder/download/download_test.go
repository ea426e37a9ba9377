package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestFileAndCache(t *testing.T) {
	body := "package bytes"
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	}))
	defer srv.Close()
	ctx := context.Background()
	tests := []struct {
		name string
		path string
		want Want
		err  error
	}{
		{"good", "/p", Want{Size: int64(len(body)), SHA256: sum(body)}, nil},
		{"wrong digest", "/p", Want{Size: int64(len(body)), SHA256: sum("other")}, ErrDigest},
		{"wrong size", "/p", Want{Size: 3, SHA256: sum(body)}, ErrDigest},
		{"missing", "/missing", Want{Size: -1, SHA256: sum(body)}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dst := filepath.Join(dir, "sub", "f")
			err := File(ctx, srv.Client(), srv.URL+tt.path, tt.want, dst)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			_, statErr := os.Stat(dst)
			if (tt.err == nil) != (statErr == nil) {
				t.Errorf("file present = %v after err %v", statErr == nil, err)
			}
			// Never a partial file left behind.
			parts, _ := filepath.Glob(filepath.Join(dir, "sub", ".part-*"))
			if len(parts) != 0 {
				t.Errorf("left %v", parts)
			}
			if errors.Is(err, ErrDigest) && !strings.Contains(err.Error(), "metadata says") {
				t.Errorf("error does not say what was expected: %v", err)
			}
		})
	}

	c := &Cache{Dir: t.TempDir(), Client: srv.Client()}
	want := Want{Size: int64(len(body)), SHA256: sum(body)}
	p, hit, err := c.Get(ctx, srv.URL+"/p", want)
	if err != nil || hit {
		t.Fatalf("first Get: %v hit=%v", err, hit)
	}
	n := hits.Load()
	p2, hit, err := c.Get(ctx, srv.URL+"/p", want)
	if err != nil || !hit || p2 != p || hits.Load() != n {
		t.Fatalf("second Get downloaded again: %v hit=%v", err, hit)
	}
	if _, _, err := c.Get(ctx, srv.URL+"/p", Want{Size: -1}); !errors.Is(err, ErrDigest) {
		t.Errorf("Get without a digest: %v, want ErrDigest", err)
	}
	if _, err := Bytes(ctx, srv.Client(), srv.URL+"/p", Want{Size: -1}, 4); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Bytes past its limit: %v, want ErrTooLarge", err)
	}
}

// A cached blob changed after it was stored is not a hit: it is fetched
// again before anything extracts it.
func TestCacheHitRehashed(t *testing.T) {
	body := "package bytes"
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(body))
	}))
	defer srv.Close()
	c := &Cache{Dir: t.TempDir(), Client: srv.Client()}
	want := Want{Size: int64(len(body)), SHA256: sum(body)}
	os.MkdirAll(filepath.Dir(c.Path(want.SHA256)), 0o755)
	os.WriteFile(c.Path(want.SHA256), []byte("evil! bytes!!"), 0o644) // same size
	p, hit, err := c.Get(context.Background(), srv.URL+"/p", want)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); hit || string(b) != body || hits.Load() != 1 {
		t.Errorf("hit=%v, %d requests, blob %q: want the changed blob fetched again", hit, hits.Load(), b)
	}
}

// A digest names a file of the cache: one that is not hex is refused
// before any request or folder is made.
func TestCacheRefusesPathDigest(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	top := t.TempDir()
	c := &Cache{Dir: filepath.Join(top, "a", "cache"), Client: srv.Client()}
	digest := "../../escaped/" + strings.Repeat("a", 50)
	_, _, err := c.Get(context.Background(), srv.URL+"/p", Want{Size: 1, SHA256: digest})
	if !errors.Is(err, ErrDigest) || hits.Load() != 0 {
		t.Errorf("err = %v after %d requests, want ErrDigest and none", err, hits.Load())
	}
	if _, err := os.Stat(filepath.Join(top, "a", "escaped")); err == nil {
		t.Errorf("made a folder outside the cache")
	}
}

// TestFileRetriesAndResumes: a mirror that answers 503 once, then cuts the
// body off half-way, still yields the verified file: the builder's
// downloads retry and resume as the artifact stores' do.
func TestFileRetriesAndResumes(t *testing.T) {
	body := strings.Repeat("linux-headers ", 4096)
	var hits atomic.Int32
	var ranged atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch hits.Add(1) {
		case 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write([]byte(body[:len(body)/2]))
			panic(http.ErrAbortHandler) // the connection drops mid-body
		default:
			ranged.Store(r.Header.Get("Range") != "")
			http.ServeContent(w, r, "", time.Time{}, strings.NewReader(body))
		}
	}))
	defer srv.Close()
	dst := filepath.Join(t.TempDir(), "f")
	if err := File(context.Background(), srv.Client(), srv.URL+"/p", Want{Size: int64(len(body)), SHA256: sum(body)}, dst); err != nil {
		t.Fatalf("File: %v", err)
	}
	if got, _ := os.ReadFile(dst); string(got) != body {
		t.Errorf("got %d bytes, want the %d of the body", len(got), len(body))
	}
	if !ranged.Load() {
		t.Errorf("the third request did not resume with Range")
	}
}
