package artifacts

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTLSAndFallback: an https store with a private CA fails without the
// CA bundle, works with it or with Insecure; and a store whose bytes fail
// verification is skipped for the next one.
func TestTLSAndFallback(t *testing.T) {
	body := elfBytes(t, 2000)
	good := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == artifactPath() {
			w.Write(body)
			return
		}
		http.NotFound(w, r)
	}))
	defer good.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: good.Certificate().Raw}), 0o644)

	portal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".ko") {
			w.Write([]byte("<!doctype html><p>log in first</p>"))
			return
		}
		http.NotFound(w, r)
	}))
	defer portal.Close()

	tests := []struct {
		name     string
		opts     Options
		repos    []string
		wantErr  string
		fromGood bool
	}{
		{name: "unknown CA", repos: []string{good.URL}, wantErr: "certificate signed by unknown authority"},
		{name: "CA bundle", opts: Options{HTTP: HTTPOptions{CABundle: ca}}, repos: []string{good.URL}, fromGood: true},
		{name: "insecure", opts: Options{Insecure: true}, repos: []string{good.URL}, fromGood: true},
		{name: "bad bytes, then a good store", opts: Options{HTTP: HTTPOptions{CABundle: ca}}, repos: []string{portal.URL, good.URL}, fromGood: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.HTTP.Retries, tt.opts.HTTP.Backoff = 1, 1
			ms, err := OpenAll(tt.repos, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			c := &Cache{Dir: t.TempDir()}
			r, err := c.Fetch(context.Background(), ms, testID, FetchOptions{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.Is(err, ErrNotFound) {
					t.Fatalf("fetch: %v, want a failure saying %q", err, tt.wantErr)
				}
				assertNothingTrusted(t, c, testID)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.From.Store != good.URL || r.SHA256 != hexSum(body) {
				t.Errorf("served by %s, sha256 %s", r.From.Store, r.SHA256)
			}
		})
	}
	_, err := NewHTTPStore(good.URL, Options{HTTP: HTTPOptions{CABundle: filepath.Join(t.TempDir(), "none.pem")}})
	if err == nil || !strings.Contains(err.Error(), "CA bundle") {
		t.Errorf("missing CA bundle: %v", err)
	}
}
