package artifacts

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// inProcess serves requests with handler h, in memory: registries can be
// given any name (https, private ranges) without a packet leaving the
// process. It records the URLs requested in plain HTTP.
type inProcess struct {
	h     http.Handler
	mu    sync.Mutex
	plain []string
	// redirectBlobs sends GETs of blobs to http://blobs.example.com.
	redirectBlobs bool
}

func (p *inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" {
		p.mu.Lock()
		p.plain = append(p.plain, req.URL.String())
		p.mu.Unlock()
	}
	w := httptest.NewRecorder()
	sreq := req.Clone(req.Context()) // as a server sees it
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	if p.redirectBlobs && req.Method == http.MethodGet && req.URL.Scheme == "https" && strings.Contains(req.URL.Path, "/blobs/") {
		http.Redirect(w, req, "http://blobs.example.com"+req.URL.Path, http.StatusTemporaryRedirect)
	} else {
		p.h.ServeHTTP(w, sreq)
	}
	resp := w.Result()
	resp.Request = req
	return resp, nil
}

// TestOCINoPlainHTTP: a registry spoken to over https is never spoken to
// in plain HTTP, neither through a redirect of a blob to http:// nor through
// go-containerregistry's fallback for private address ranges.
func TestOCINoPlainHTTP(t *testing.T) {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	t.Run("blob redirected to http", func(t *testing.T) {
		tr := &inProcess{h: reg}
		o := Options{HTTP: HTTPOptions{Client: &http.Client{Transport: tr}}}
		s, err := NewOCIStore("oci://registry.example.com/drivers", o)
		if err != nil {
			t.Fatal(err)
		}
		publish(t, s, testID)
		tr.redirectBlobs = true
		c := &Cache{Dir: t.TempDir()}
		_, err = c.Fetch(context.Background(), s, testID, FetchOptions{})
		if !errors.Is(err, ErrPlainHTTP) {
			t.Errorf("fetch through a redirect to http: %v, want ErrPlainHTTP", err)
		}
		if len(tr.plain) > 0 {
			t.Errorf("requests in plain HTTP: %v", tr.plain)
		}
		assertNothingTrusted(t, c, testID)
	})
	t.Run("private range, https failing", func(t *testing.T) {
		tr := &inProcess{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Scheme == "https" {
				w.WriteHeader(http.StatusBadGateway) // as if TLS were blocked
				return
			}
			reg.ServeHTTP(w, r)
		})}
		o := Options{HTTP: HTTPOptions{Client: &http.Client{Transport: tr}, Retries: -1}}
		s, err := NewOCIStore("oci://10.11.12.13:5000/drivers", o)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = s.Fetch(context.Background(), testID)
		if err == nil {
			t.Fatal("fetch from a registry whose https fails succeeded")
		}
		if len(tr.plain) > 0 {
			t.Errorf("fell back to plain HTTP: %v", tr.plain)
		}
	})
}
