package artifacts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
)

// TestCacheRecheck: a cached file that no longer matches its record is
// downloaded again; a file without a record is never used.
func TestCacheRecheck(t *testing.T) {
	body := elfBytes(t, 5000)
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == artifactPath() {
			gets.Add(1)
			w.Write(body)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	s, _ := NewHTTPStore(srv.URL, Options{HTTP: fastHTTP()})
	c := &Cache{Dir: t.TempDir()}
	ctx := context.Background()
	r, err := c.Fetch(ctx, s, testID, FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		change   func()
		download bool
	}{
		{"untouched", func() {}, false},
		{"corrupted", func() {
			b, _ := os.ReadFile(r.Path)
			b[10] ^= 0xff
			os.WriteFile(r.Path, b, 0o644)
		}, true},
		{"record removed", func() { os.Remove(r.Path + ".sha256") }, true},
		{"truncated", func() { os.Truncate(r.Path, 100) }, true},
		// Records are written without fsync: a crash may leave one empty or
		// torn, which must mean "download again", not an error.
		{"record empty", func() { os.WriteFile(r.Path+".sha256", nil, 0o644) }, true},
		{"record torn", func() {
			b, _ := os.ReadFile(r.Path + ".sha256")
			os.WriteFile(r.Path+".sha256", b[:20], 0o644)
		}, true},
		{"file empty", func() { os.Truncate(r.Path, 0) }, true},
	}
	for _, st := range steps {
		before := gets.Load()
		st.change()
		r2, err := c.Fetch(ctx, s, testID, FetchOptions{})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got, _ := os.ReadFile(r2.Path)
		if !bytes.Equal(got, body) {
			t.Fatalf("%s: cache returned different bytes", st.name)
		}
		if downloaded := gets.Load() > before; downloaded != st.download || r2.Cached == st.download {
			t.Errorf("%s: downloaded=%v cached=%v, want download %v", st.name, downloaded, r2.Cached, st.download)
		}
	}
	// An expected digest that differs from the cached one is not a hit.
	_, err = c.Fetch(ctx, s, testID, FetchOptions{SHA256: strings.Repeat("ab", 32)})
	if !errors.Is(err, ErrIntegrity) {
		t.Errorf("fetch with another expected digest: %v, want ErrIntegrity", err)
	}
}

// TestCacheConcurrent: many fetches of one artifact at once all succeed,
// and the server is asked once.
func TestCacheConcurrent(t *testing.T) {
	body := elfBytes(t, 1<<20)
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == artifactPath() {
			gets.Add(1)
			w.Write(body)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			s, _ := NewHTTPStore(srv.URL, Options{HTTP: fastHTTP()})
			c := &Cache{Dir: dir}
			r, err := c.Fetch(context.Background(), s, testID, FetchOptions{})
			if err == nil && r.SHA256 != hexSum(body) {
				err = errors.New("wrong digest")
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("fetch %d: %v", i, err)
		}
	}
	if n := gets.Load(); n != 1 {
		t.Errorf("server asked %d times, want 1", n)
	}
}

// TestRequireDigest: a store that publishes no digest is refused when
// digests are required, and accepted (size and ELF checked) otherwise.
func TestRequireDigest(t *testing.T) {
	body := elfBytes(t, 3000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == artifactPath() {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	s, _ := NewHTTPStore(srv.URL, Options{HTTP: fastHTTP()})
	c := &Cache{Dir: t.TempDir()}
	_, err := c.Fetch(context.Background(), s, testID, FetchOptions{RequireDigest: true})
	if !errors.Is(err, ErrIntegrity) || !strings.Contains(err.Error(), "publishes no digest") {
		t.Fatalf("with RequireDigest: %v", err)
	}
	assertNothingTrusted(t, c, testID)
	var last Progress
	r, err := c.Fetch(context.Background(), s, testID, FetchOptions{SHA256: hexSum(body), Progress: func(p Progress) { last = p }})
	if err != nil || r.SHA256 != hexSum(body) {
		t.Fatalf("with an expected digest: %v", err)
	}
	if last.Done != int64(len(body)) || last.Total != int64(len(body)) {
		t.Errorf("last progress %+v, want %d of %d", last, len(body), len(body))
	}
}

// TestFlatCacheVersions: in one output directory, the same file name of
// another driver version is not a cache hit.
func TestFlatCacheVersions(t *testing.T) {
	a, b := elfBytes(t, 1000), elfBytes(t, 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/1.0/") && strings.HasSuffix(r.URL.Path, ".ko"):
			w.Write(a)
		case strings.HasPrefix(r.URL.Path, "/2.0/") && strings.HasSuffix(r.URL.Path, ".ko"):
			w.Write(b)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	s, _ := NewHTTPStore(srv.URL, Options{HTTP: fastHTTP()})
	c := &Cache{Dir: t.TempDir(), Flat: true}
	for _, v := range []struct {
		version string
		body    []byte
		cached  bool
	}{{"1.0", a, false}, {"2.0", b, false}, {"2.0", b, true}} {
		id := testID
		id.DriverVersion = v.version
		r, err := c.Fetch(context.Background(), s, id, FetchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.SHA256 != hexSum(v.body) || r.Cached != v.cached {
			t.Errorf("version %s: sha256 %s cached %v; want %s cached %v", v.version, r.SHA256, r.Cached, hexSum(v.body), v.cached)
		}
	}
}

// TestCopyHashing: the file gets every byte and the hash is of every
// byte, in order, at chunk boundaries and past the number of buffers; a
// read error mid-way is returned.
func TestCopyHashing(t *testing.T) {
	for _, size := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, chunks*chunkSize + 7} {
		body := make([]byte, size)
		for i := range body {
			body[i] = byte(i * 7 / 3)
		}
		var out bytes.Buffer
		h := sha256.New()
		var progress int64
		pw := &progressWriter{fn: func(p Progress) { progress = p.Done }}
		n, err := copyHashing(&out, h, pw, iotest.HalfReader(bytes.NewReader(body)))
		if err != nil || n != int64(size) || !bytes.Equal(out.Bytes(), body) || progress != int64(size) {
			t.Fatalf("size %d: n=%d err=%v equal=%v progress=%d", size, n, err, bytes.Equal(out.Bytes(), body), progress)
		}
		if want := sha256.Sum256(body); !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatalf("size %d: wrong sha256", size)
		}
	}
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(make([]byte, 3*chunkSize+5)), iotest.ErrReader(boom))
	if _, err := copyHashing(io.Discard, sha256.New(), &progressWriter{}, r); !errors.Is(err, boom) {
		t.Fatalf("read error: got %v", err)
	}
}
