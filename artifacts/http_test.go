package artifacts

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
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

var testID = ID{DriverName: "kdriver", DriverVersion: "0.1.0+driver", Kind: KindKmod, Arch: "x86_64",
	TargetID: "ubuntu-aws", KernelRelease: "5.15.0-1059-aws", KernelVersion: "65~20.04.1"}

// elfBytes is a fake driver: an ELF magic and random bytes.
func elfBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	copy(b, elfMagic)
	return b
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fastHTTP keeps retries quick in tests.
func fastHTTP() HTTPOptions {
	return HTTPOptions{Retries: 2, Backoff: time.Millisecond, IdleTimeout: 5 * time.Second, Timeout: time.Minute}
}

// assertNothingTrusted checks that a failed fetch left no file a later
// run would use: no artifact, no record, no partial file.
func assertNothingTrusted(t *testing.T, c *Cache, id ID) {
	t.Helper()
	if _, err := c.Lookup(id, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("cache lookup after failure: %v, want ErrNotFound", err)
	}
	p, _ := c.Path(id)
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), "*"))
	for _, f := range left {
		if !strings.HasSuffix(f, ".lock") {
			t.Errorf("left behind: %s", f)
		}
	}
}

// artifactPath is the URL path of testID under a repo.
func artifactPath() string {
	return "/" + testID.DriverVersion + "/" + testID.Arch + "/" + testID.FileName()
}

// resetAfter serves on a raw listener: it answers every request with a
// Content-Length of len(body) but resets the connection (RST) after n
// bytes, for the first `times` connections; later ones get the whole body.
func resetAfter(t *testing.T, body []byte, n int, times int32) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				if !strings.HasSuffix(req.URL.Path, ".ko") {
					fmt.Fprintf(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
					return
				}
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n", len(body))
				if conns.Add(1) <= times {
					c.Write(body[:n])
					c.(*net.TCPConn).SetLinger(0) // close sends RST
					return
				}
				c.Write(body)
			}(c)
		}
	}()
	return "http://" + ln.Addr().String()
}

func TestHTTPFaults(t *testing.T) {
	body := elfBytes(t, 256<<10)
	sum := hexSum(body)
	serveArtifact := func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case artifactPath():
			return true
		case artifactPath() + ".sha256":
			fmt.Fprintf(w, "%s  %s\n", sum, testID.FileName())
		default:
			http.NotFound(w, r)
		}
		return false
	}
	handler := func(f func(w http.ResponseWriter, r *http.Request)) func(*testing.T) string {
		return func(t *testing.T) string {
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if serveArtifact(w, r) {
					f(w, r)
				}
			}))
			t.Cleanup(s.Close)
			return s.URL
		}
	}
	var fiveHundreds atomic.Int32
	tests := []struct {
		name     string
		server   func(*testing.T) string
		opts     func(*HTTPOptions)
		miss     bool     // want ErrNotFound
		wantErr  []string // substrings of the error; none: success
		wantSame bool
	}{
		{name: "404", server: handler(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }),
			miss: true, wantErr: []string{"404 Not Found", testID.FileName()}},
		{name: "500 then 200", server: handler(func(w http.ResponseWriter, r *http.Request) {
			if fiveHundreds.Add(1) == 1 {
				http.Error(w, "busy", http.StatusInternalServerError)
				return
			}
			w.Write(body)
		}), wantSame: true},
		{name: "500 always", server: handler(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "broken", http.StatusInternalServerError)
		}), wantErr: []string{"500 Internal Server Error", "gave up after 3 attempts"}},
		{name: "truncated body", server: handler(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body[:len(body)/3])
			panic(http.ErrAbortHandler) // cut the connection short
		}), wantErr: []string{"unexpected EOF", "3 attempts"}},
		{name: "truncated without length", server: handler(func(w http.ResponseWriter, r *http.Request) {
			w.Write(body[:1000])
		}), wantErr: []string{"artifact failed verification", "got 1000 bytes with sha256"}},
		{name: "HTML page with 200", server: handler(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, "<html><body>Welcome to the hotel wifi</body></html>")
		}), wantErr: []string{"served an HTML page (text/html) with 200 OK"}},
		{name: "HTML page as octet-stream", server: handler(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			fmt.Fprint(w, "<!DOCTYPE html><html><body>login</body></html>")
		}), wantErr: []string{"an HTML page, not a driver"}},
		{name: "portal answers every URL", server: func(t *testing.T) string {
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, "<!DOCTYPE html><html><body>login</body></html>")
			}))
			t.Cleanup(s.Close)
			return s.URL
		}, wantErr: []string{"index.json: got an HTML page"}},
		{name: "trickle slower than the timeout", server: handler(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			for i := 0; i < len(body); i += 64 {
				if _, err := w.Write(body[i : i+64]); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}), opts: func(o *HTTPOptions) { o.Timeout = 500 * time.Millisecond },
			wantErr: []string{"overall timeout", "not complete within 500ms"}},
		{name: "stall longer than the idle timeout", server: handler(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body[:100])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}), opts: func(o *HTTPOptions) { o.IdleTimeout = time.Second },
			wantErr: []string{"stalled: no data for 1s (idle timeout)"}},
		{name: "reset mid-body", server: func(t *testing.T) string { return resetAfter(t, body, 4096, 100) },
			wantErr: []string{"connection reset by peer", "3 attempts"}},
		{name: "reset once then resumed", server: func(t *testing.T) string { return resetAfter(t, body, 4096, 1) },
			wantSame: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := tt.server(t)
			o := fastHTTP()
			if tt.opts != nil {
				tt.opts(&o)
			}
			s, err := NewHTTPStore(repo, Options{HTTP: o})
			if err != nil {
				t.Fatal(err)
			}
			c := &Cache{Dir: t.TempDir()}
			r, err := c.Fetch(context.Background(), s, testID, FetchOptions{})
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("fetch: %v", err)
				}
				got, _ := os.ReadFile(r.Path)
				if hexSum(got) != sum || r.SHA256 != sum {
					t.Fatalf("fetched file differs from the served one")
				}
				return
			}
			if err == nil {
				t.Fatal("fetch succeeded, want an error")
			}
			t.Logf("error: %v", err)
			if errors.Is(err, ErrNotFound) != tt.miss {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v", !tt.miss, tt.miss)
			}
			for _, w := range append(tt.wantErr, "store "+repo) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q", w)
				}
			}
			assertNothingTrusted(t, c, testID)
		})
	}
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		in, name, value string
		bad             bool
	}{
		{in: "Authorization: Bearer abc", name: "Authorization", value: "Bearer abc"},
		{in: "x-token:abc:def", name: "X-Token", value: "abc:def"},
		{in: "no colon", bad: true},
		{in: ": empty", bad: true},
		{in: "Bad Name: x", bad: true},
		{in: "X: a\r\nInjected: b", bad: true},
		{in: "X: a\nb", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n, v, err := ParseHeader(tt.in)
			if (err != nil) != tt.bad {
				t.Fatalf("ParseHeader(%q) error = %v, want error %v", tt.in, err, tt.bad)
			}
			if !tt.bad && (n != tt.name || v != tt.value) {
				t.Errorf("ParseHeader(%q) = %q, %q; want %q, %q", tt.in, n, v, tt.name, tt.value)
			}
		})
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add("Authorization: Bearer x")
	f.Add("X:\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		n, v, err := ParseHeader(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(n+v, "\r\n\x00") || strings.ContainsAny(n, " :") {
			t.Fatalf("ParseHeader(%q) accepted %q: %q", s, n, v)
		}
	})
}

// TestHTTPHeadersAndMultiStore: extra headers reach the server, the first
// store misses, the second serves, and a double miss names both stores.
func TestHTTPHeadersAndMultiStore(t *testing.T) {
	body := elfBytes(t, 1000)
	var gotAuth atomic.Value
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization"))
		if r.URL.Path == artifactPath() {
			w.Write(body)
			return
		}
		http.NotFound(w, r)
	}))
	defer good.Close()
	empty := httptest.NewServer(http.NotFoundHandler())
	defer empty.Close()
	o := fastHTTP()
	o.Headers = http.Header{"Authorization": {"Bearer t0ken"}}
	ms, err := OpenAll([]string{empty.URL, good.URL}, Options{HTTP: o})
	if err != nil {
		t.Fatal(err)
	}
	c := &Cache{Dir: t.TempDir()}
	r, err := c.Fetch(context.Background(), ms, testID, FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.From.Store != good.URL || gotAuth.Load() != "Bearer t0ken" {
		t.Errorf("served by %s with Authorization %q", r.From.Store, gotAuth.Load())
	}
	// Second fetch: a cache hit, even with the servers gone.
	good.Close()
	r, err = c.Fetch(context.Background(), ms, testID, FetchOptions{})
	if err != nil || !r.Cached {
		t.Fatalf("second fetch: cached=%v err=%v", r.Cached, err)
	}
	// A miss everywhere names every store.
	ms2, _ := OpenAll([]string{empty.URL, empty.URL + "/other"}, Options{HTTP: o})
	other := testID
	other.KernelRelease = "6.1.0"
	_, err = c.Fetch(context.Background(), ms2, other, FetchOptions{})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	for _, w := range []string{"not found in any of 2 stores", "store " + empty.URL + ":", "store " + empty.URL + "/other:"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

// TestS3StyleMirror: a mirror that answers 403 for everything it lacks
// (S3 without list permission) works without index and sidecar; a 403 for
// the artifact itself is a failure that says so, not a miss.
func TestS3StyleMirror(t *testing.T) {
	body := elfBytes(t, 3000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == artifactPath() {
			w.Write(body)
			return
		}
		http.Error(w, "<Error><Code>AccessDenied</Code></Error>", http.StatusForbidden)
	}))
	defer srv.Close()
	s, _ := NewHTTPStore(srv.URL, Options{HTTP: fastHTTP()})
	c := &Cache{Dir: t.TempDir()}
	r, err := c.Fetch(context.Background(), s, testID, FetchOptions{})
	if err != nil || r.SHA256 != hexSum(body) {
		t.Fatalf("fetch from an S3-style mirror: %v", err)
	}
	other := withKernel(testID, KindKmod, "6.1.0")
	_, err = c.Fetch(context.Background(), s, other, FetchOptions{})
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "403 Forbidden") {
		t.Fatalf("403 for the artifact: %v", err)
	}
}
