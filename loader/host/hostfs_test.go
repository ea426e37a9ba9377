package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A FIFO or an endless file planted under the host root must not hang
// detection: it is skipped with a note naming the file and the reason.
func TestDetectRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"etc", "proc/sys/kernel"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "etc/os-release"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "etc/debian_version")); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, MaxFileSize+1)
	if err := os.WriteFile(filepath.Join(dir, "proc/sys/kernel/version"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "proc/sys/kernel/osrelease"), []byte("6.1.0-13-amd64\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, closeFn, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()

	type result struct {
		f   Facts
		err error
	}
	done := make(chan result, 1)
	go func() {
		f, err := Detect(context.Background(), fsys, dir, Options{Arch: "x86_64"})
		done <- result{f, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Detect hangs on a FIFO under the host root")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	notes := strings.Join(r.f.Notes, "\n")
	for _, want := range []string{
		"/etc/os-release ignored: not a regular file (a named pipe)",
		"/proc/sys/kernel/version ignored: file too large",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if r.f.OS.Source != "" {
		t.Errorf("distro read from %s, want none", r.f.OS.Source)
	}
	if r.f.Kernel.Version != "" {
		t.Errorf("kernel version read from a too large file (%d bytes)", len(r.f.Kernel.Version))
	}
}

func TestReadFileRefuses(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	fsys, closeFn, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	for _, name := range []string{"fifo", "dir"} {
		if _, err := ReadFile(fsys, name); !errors.Is(err, ErrNotRegular) {
			t.Errorf("ReadFile(%s) = %v, want ErrNotRegular", name, err)
		}
	}
	// The FS's own Open does not block on a FIFO either.
	done := make(chan error, 1)
	go func() {
		f, err := fsys.Open("fifo")
		if err == nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Open blocks on a FIFO")
	}
}
