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
	"strings"
	"sync/atomic"
	"testing"
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
