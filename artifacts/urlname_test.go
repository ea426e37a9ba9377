package artifacts

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestHTTPNames: a kernel version with '?' or '#' names its own file on an
// HTTP store (not a query on another file), and names that would leave
// their folder ("..") are refused before any request.
func TestHTTPNames(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.RequestURI)
		mu.Unlock()
		http.NotFound(w, r)
	}))
	defer srv.Close()
	s, _ := NewHTTPStore(srv.URL+"/drivers", Options{HTTP: fastHTTP()})

	odd := testID
	odd.KernelVersion = "1?x#y"
	s.Fetch(context.Background(), odd)
	want := "/drivers/0.1.0%2Bdriver/x86_64/kdriver_ubuntu-aws_5.15.0-1059-aws_1%3Fx%23y.ko"
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, a := range asked {
		found = found || a == want
	}
	if !found {
		t.Errorf("requests %q, want one for %q", asked, want)
	}

	asked = nil
	mu.Unlock()
	up := testID
	up.DriverVersion = ".."
	if _, _, err := s.Fetch(context.Background(), up); err == nil || !strings.Contains(err.Error(), "not a file name") {
		t.Errorf("driver version \"..\": %v, want it refused", err)
	}
	mu.Lock()
	if len(asked) > 0 {
		t.Errorf("requests for a driver version \"..\": %q", asked)
	}
}
