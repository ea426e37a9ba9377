package artifacts

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRedirects: an https store redirecting to plain http is refused
// (nothing goes out in clear); a redirect to another origin is followed
// without the configured headers; the descriptor names the final URL.
func TestRedirects(t *testing.T) {
	body := elfBytes(t, 3000)
	var leaked atomic.Value
	leaked.Store("")
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get("X-Mirror-Token"); v != "" {
			leaked.Store(v)
		}
		if r.URL.Path == "/blobs/"+testID.FileName() {
			w.Write(body)
			return
		}
		http.NotFound(w, r)
	}))
	defer other.Close()
	redirecting := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == artifactPath() {
			http.Redirect(w, r, other.URL+"/blobs/"+testID.FileName()+"?X-Signature=secret", http.StatusFound)
			return
		}
		http.NotFound(w, r)
	}
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(redirecting))
	defer tlsSrv.Close()
	plainSrv := httptest.NewServer(http.HandlerFunc(redirecting))
	defer plainSrv.Close()

	headers := http.Header{"X-Mirror-Token": {"s3cret"}}
	t.Run("https to http", func(t *testing.T) {
		leaked.Store("")
		o := fastHTTP()
		o.Headers, o.Client = headers, tlsSrv.Client()
		s, _ := NewHTTPStore(tlsSrv.URL, Options{HTTP: o})
		c := &Cache{Dir: t.TempDir()}
		_, err := c.Fetch(context.Background(), s, testID, FetchOptions{})
		if !errors.Is(err, ErrRedirect) || !strings.Contains(err.Error(), "https to plain http") {
			t.Fatalf("fetch through an https→http redirect: %v, want ErrRedirect", err)
		}
		if v := leaked.Load(); v != "" {
			t.Errorf("header sent in clear to %s: %q", other.URL, v)
		}
		assertNothingTrusted(t, c, testID)
	})
	t.Run("other origin", func(t *testing.T) {
		leaked.Store("")
		o := fastHTTP()
		o.Headers = headers
		s, _ := NewHTTPStore(plainSrv.URL, Options{HTTP: o})
		c := &Cache{Dir: t.TempDir()}
		r, err := c.Fetch(context.Background(), s, testID, FetchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if v := leaked.Load(); v != "" {
			t.Errorf("header for %s sent to %s: %q", plainSrv.URL, other.URL, v)
		}
		want := other.URL + "/blobs/" + testID.FileName()
		if r.From.Source != want || r.SHA256 != hexSum(body) {
			t.Errorf("descriptor source %q, want the final URL %q (without its query)", r.From.Source, want)
		}
	})
}
