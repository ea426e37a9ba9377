package debian

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kdriver/kdriver/builder/download"
)

// A field of many continuation lines (a crafted Release or Packages index,
// well under their size caps) parses in linear time, not hours.
func TestParseControlLongField(t *testing.T) {
	const n = 400_000
	in := "Package: x\nDescription: first\n" + strings.Repeat(" y\n", n) + "Version: 1\n"
	type result struct {
		ps  []Paragraph
		err error
	}
	done := make(chan result, 1)
	go func() {
		ps, err := ParseControl(strings.NewReader(in))
		done <- result{ps, err}
	}()
	select {
	case r := <-done:
		if r.err != nil || len(r.ps) != 1 {
			t.Fatalf("%d paragraphs, %v", len(r.ps), r.err)
		}
		d := r.ps[0].Get("Description")
		if strings.Count(d, "\n") != n || !strings.HasPrefix(d, "first\ny\n") || r.ps[0].Get("Version") != "1" {
			t.Errorf("Description has %d lines, Version %q", strings.Count(d, "\n")+1, r.ps[0].Get("Version"))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ParseControl of a 1 MiB field still running after 10s")
	}
}

// A Release listing a Packages index of a terabyte is refused before the
// index is fetched: its size is what is read into memory.
func TestPackagesSizeCapped(t *testing.T) {
	var fetched atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/dists/bookworm/Release":
			fmt.Fprintf(w, "Suite: bookworm\nSHA256:\n %s %d main/binary-amd64/Packages.xz\n", strings.Repeat("a", 64), int64(1)<<40)
		case "/dists/bookworm/main/binary-amd64/Packages.xz":
			fetched.Add(1)
			w.Write([]byte("x"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	a := &Archive{URL: srv.URL, Client: srv.Client()}
	_, err := LoadIndex(context.Background(), a, "bookworm", []string{"main"}, []string{"amd64"})
	if !errors.Is(err, download.ErrTooLarge) || fetched.Load() != 0 {
		t.Fatalf("err = %v after %d fetches, want ErrTooLarge and none", err, fetched.Load())
	}
}
