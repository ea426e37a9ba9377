package testenv

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// CacheDir is where the set-up scripts keep downloads between runs:
// $KDRIVER_CACHE, default /var/cache/kdriver-dev.
func CacheDir() string {
	if d := os.Getenv("KDRIVER_CACHE"); d != "" {
		return d
	}
	return "/var/cache/kdriver-dev"
}

// BuilderMirror is the local Debian-style mirror of real packages that
// scripts/setup-builder.sh makes under CacheDir; Missing when it is not there.
func BuilderMirror(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(CacheDir(), "builder", "mirror")
	if _, err := os.Stat(filepath.Join(dir, "dists", "bookworm", "Release")); err != nil {
		Missing(t, "no local mirror at %s: run scripts/setup-builder.sh", dir)
	}
	return dir
}

// ServeDir serves dir on 127.0.0.1 until the test ends and returns its URL.
func ServeDir(t testing.TB, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir))}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
