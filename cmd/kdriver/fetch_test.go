package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// fetchArgs name one artifact without looking at the test machine: a
// fixture host root (Ubuntu) and explicit kernel strings.
func fetchArgs(t *testing.T, repo string) []string {
	t.Helper()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/os-release"), []byte("ID=ubuntu\nVERSION_ID=\"22.04\"\n"), 0o644)
	return []string{"--host-root", root, "--kernel-release", "5.15.0-1059-aws", "--kernel-version", "#65~20.04.1-Ubuntu SMP",
		"--arch", "x86_64", "--repo", repo}
}

const fetchedName = "kdriver_ubuntu-aws_5.15.0-1059-aws_65~20.04.1.ko"

func fakeDriver(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	copy(b, "\x7fELF")
	return b
}

func sumHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestFetchExitCodes runs kdriver fetch against faulty HTTP servers on
// 127.0.0.1: each fault is a clear error naming the store and the cause,
// with CLI.md's exit code, and leaves nothing a later run would use.
func TestFetchExitCodes(t *testing.T) {
	body := fakeDriver(64 << 10)
	tests := []struct {
		name    string
		h       http.HandlerFunc
		code    int
		wantErr []string
	}{
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
			exitNoArtifact, []string{"no driver artifact available", "404 Not Found"}},
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 500) },
			exitError, []string{"500 Internal Server Error (gave up after 2 attempts)"}},
		{"truncated", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body[:10000])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}, exitError, []string{"unexpected EOF after 10000 of 65536 bytes (2 attempts)"}},
		{"HTML page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>sign in</html>"))
		}, exitError, []string{"served an HTML page"}},
		{"sidecar mismatch", func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, ".sha256") {
				fmt.Fprintln(w, strings.Repeat("0", 64))
				return
			}
			w.Write(body)
		}, exitError, []string{"artifact failed verification: got 65536 bytes with sha256 " + sumHex(body) + ", the store publishes sha256 0000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "index.json") || (strings.HasSuffix(r.URL.Path, ".sha256") && tt.name != "sidecar mismatch") {
					http.NotFound(w, r)
					return
				}
				tt.h(w, r)
			}))
			defer srv.Close()
			out := t.TempDir()
			args := append([]string{"kdriver", "--quiet"}, fetchArgs(t, srv.URL)...)
			args = append(args, "fetch", "--output-dir", out, "--retries", "1")
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			for _, w := range append(tt.wantErr, "store "+srv.URL) {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr.String())
				}
			}
			ents, _ := os.ReadDir(out)
			for _, e := range ents {
				t.Errorf("left in the output dir: %s", e.Name()) // not even a lock file
			}
		})
	}
}

// TestFetchKilled interrupts a fetch in the middle of the body: SIGINT
// exits 130 and removes the partial file; after SIGKILL
// nothing is trusted afterwards, and the next run downloads again and
// succeeds. Then two fetches of one artifact run at once: both succeed,
// one downloads, and one good file is left.
func TestFetchKilled(t *testing.T) {
	body := fakeDriver(4 << 20)
	var slow atomic.Bool
	slow.Store(true)
	var gets atomic.Int32
	started := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, ".sha256"):
			fmt.Fprintf(w, "%s  %s\n", sumHex(body), fetchedName)
			return
		case !strings.HasSuffix(r.URL.Path, ".ko"):
			http.NotFound(w, r)
			return
		}
		gets.Add(1)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if slow.Load() {
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush()
			select {
			case started <- struct{}{}:
			default:
			}
			<-r.Context().Done() // hang until the client dies
			return
		}
		// Slow enough for two clients to overlap.
		for i := 0; i < len(body); i += 256 << 10 {
			w.Write(body[i : i+256<<10])
			w.(http.Flusher).Flush()
			time.Sleep(10 * time.Millisecond)
		}
	}))
	defer srv.Close()
	cache := t.TempDir()
	args := append(fetchArgs(t, srv.URL), "fetch")
	dir := filepath.Join(cache, "0.1.0", "x86_64")
	final := filepath.Join(dir, fetchedName)

	// startSlow starts a fetch and returns once part of the body is in
	// its temporary file.
	startSlow := func() (*exec.Cmd, *bytes.Buffer, []string) {
		cmd := kdriverCmd(t, "", args...)
		cmd.Env = append(os.Environ(), "KDRIVER_CACHE="+cache)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-started:
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			t.Fatalf("the fetch never asked for the body:\n%s", stderr.String())
		}
		var parts []string
		for range 600 {
			parts, _ = filepath.Glob(filepath.Join(dir, "."+fetchedName+".part-*"))
			if len(parts) > 0 {
				if st, err := os.Stat(parts[0]); err == nil && st.Size() > 0 {
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(parts) == 0 {
			cmd.Process.Kill()
			t.Fatalf("no partial file was written:\n%s", stderr.String())
		}
		return cmd, &stderr, parts
	}

	// Ctrl-C: exit 130, and the partial file is removed on the way out.
	cmd, stderr, parts := startSlow()
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("after SIGINT: exit %d, want %d\n%s", code, exitInterrupted, stderr.String())
	}
	if _, err := os.Stat(parts[0]); err == nil {
		t.Errorf("after SIGINT the partial file %s is still there", parts[0])
	}

	// SIGKILL: no clean-up possible; still nothing is trusted.
	cmd, stderr, _ = startSlow()
	cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("fetch was not killed mid-download: %v\n%s", err, stderr.String())
	}
	for _, p := range []string{final, final + ".sha256"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("after SIGKILL %s exists; a later run could trust it", p)
		}
	}

	// The next run downloads again and succeeds.
	slow.Store(false)
	cmd = kdriverCmd(t, "", args...)
	cmd.Env = append(os.Environ(), "KDRIVER_CACHE="+cache)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fetch after the kill: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(final); sumHex(got) != sumHex(body) {
		t.Fatal("file after the second run differs from the served one")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.part-*")); len(left) > 0 {
		t.Errorf("partial files left: %v", left)
	}

	// Two at once, in a fresh cache.
	cache2 := t.TempDir()
	before := gets.Load()
	var wg sync.WaitGroup
	outs := make([][]byte, 2)
	errs := make([]error, 2)
	for i := range 2 {
		c := kdriverCmd(t, "", args...)
		c.Env = append(os.Environ(), "KDRIVER_CACHE="+cache2)
		wg.Go(func() { outs[i], errs[i] = c.CombinedOutput() })
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Errorf("concurrent fetch %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	if n := gets.Load() - before; n != 1 {
		t.Errorf("server sent the artifact %d times, want 1 (the other fetch waits and uses the cache)", n)
	}
	dir2 := filepath.Join(cache2, "0.1.0", "x86_64")
	if got, _ := os.ReadFile(filepath.Join(dir2, fetchedName)); sumHex(got) != sumHex(body) {
		t.Error("file after concurrent fetches differs from the served one")
	}
	ents, _ := os.ReadDir(dir2)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{fetchedName, fetchedName + ".lock", fetchedName + ".sha256"}; strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("cache holds %v, want %v", names, want)
	}
}

// TestOCIPushFetch publishes with `kdriver artifact push` to an in-memory
// OCI registry and fetches it back with `kdriver fetch`: same bytes.
func TestOCIPushFetch(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	repo := "oci://" + strings.TrimPrefix(srv.URL, "http://") + "/drivers"
	dir := t.TempDir()
	body := fakeDriver(100 << 10)
	file := filepath.Join(dir, fetchedName)
	os.WriteFile(file, body, 0o644)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"kdriver", "--quiet", "--arch", "x86_64", "--repo", repo, "artifact", "push", file}, &stdout, &stderr); code != 0 {
		t.Fatalf("push: exit %d\n%s", code, stderr.String())
	}
	out := t.TempDir()
	args := append([]string{"kdriver", "--quiet"}, fetchArgs(t, repo)...)
	stdout.Reset()
	if code := run(context.Background(), append(args, "-o", "json", "fetch", "--output-dir", out, "--require-digest"), &stdout, &stderr); code != 0 {
		t.Fatalf("fetch: exit %d\n%s", code, stderr.String())
	}
	got, _ := os.ReadFile(filepath.Join(out, fetchedName))
	if sumHex(got) != sumHex(body) || !strings.Contains(stdout.String(), `"digest": "sha256:`+sumHex(body)) {
		t.Fatalf("fetched %s, pushed %s\n%s", sumHex(got), sumHex(body), stdout.String())
	}
	// A kernel nobody built: exit 3, the nearest build named.
	stderr.Reset()
	args[5] = "5.15.0-1060-aws"
	if code := run(context.Background(), append(args, "fetch", "--output-dir", out), &stdout, &stderr); code != exitNoArtifact {
		t.Fatalf("miss: exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "nearest builds: ubuntu-aws 5.15.0-1059-aws") {
		t.Errorf("miss not explained:\n%s", stderr.String())
	}
}

// TestFetchThroughProxy: HTTP_PROXY from the environment is used (the repo
// host name does not even resolve; only the proxy on 127.0.0.1 knows it),
// and extra headers reach the server.
func TestFetchThroughProxy(t *testing.T) {
	body := fakeDriver(50 << 10)
	var seen atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A proxied request carries the absolute URL.
		if r.URL.Host != "drivers.kdriver-test.invalid" || !strings.HasSuffix(r.URL.Path, ".ko") {
			http.NotFound(w, r)
			return
		}
		seen.Store(r.Header.Get("X-Mirror-Token"))
		w.Write(body)
	}))
	defer proxy.Close()
	out := t.TempDir()
	args := append(fetchArgs(t, "http://drivers.kdriver-test.invalid/kdriver"), "fetch", "--output-dir", out, "--http-header", "X-Mirror-Token: s3cret")
	cmd := kdriverCmd(t, "", args...)
	cmd.Env = append(os.Environ(), "HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "NO_PROXY=", "no_proxy=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fetch through the proxy: %v\n%s", err, b)
	}
	if got, _ := os.ReadFile(filepath.Join(out, fetchedName)); sumHex(got) != sumHex(body) {
		t.Error("fetched file differs")
	}
	if seen.Load() != "s3cret" {
		t.Errorf("header X-Mirror-Token = %v at the server", seen.Load())
	}
}
