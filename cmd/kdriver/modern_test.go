package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/kdriver/kdriver/internal/testenv"
)

// kdriverCmd runs this test binary as the kdriver command (TestMain
// dispatches on argv[0]).
func kdriverCmd(t *testing.T, exe string, args ...string) *exec.Cmd {
	t.Helper()
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(exe, args...)
	cmd.Args[0] = "kdriver"
	cmd.Env = append(os.Environ(), "KDRIVER_LOG_LEVEL=info")
	return cmd
}

// worldExecutable copies the test binary where an unprivileged user can
// run it (go test's build directory is private to root).
func worldExecutable(t *testing.T) (exe, dir string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err = os.MkdirTemp("", "kdriver-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	exe = filepath.Join(dir, "kdriver")
	out, err := os.OpenFile(exe, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return exe, dir
}

// TestUnprivilegedExits4 runs install and verify as nobody: the host
// cannot run the driver for this user (exit 4) and the message says what
// privileges are missing.
func TestUnprivilegedExits4(t *testing.T) {
	testenv.RequireBPF(t)
	exe, dir := worldExecutable(t)
	for _, args := range [][]string{
		{"install"},
		{"verify", "--type", "modern-ebpf"},
		{"events", "--duration", "1s"},
	} {
		t.Run(args[0], func(t *testing.T) {
			cmd := kdriverCmd(t, exe, args...)
			cmd.Dir = dir
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitUnsupported {
				t.Fatalf("kdriver %s as nobody: %v, want exit %d; stderr:\n%s", strings.Join(args, " "), err, exitUnsupported, stderr.String())
			}
			for _, want := range []string{"run as root", "CAP_BPF", "CAP_PERFMON"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

// TestEventsShowsOpen is the acceptance check of `kdriver events --output
// json --duration 3s`: a file another process creates during the window
// shows up with its path, the creator's pid and comm, the open flags and a
// file descriptor as result.
func TestEventsShowsOpen(t *testing.T) {
	testenv.RequireBPF(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "created-by-sh")
	// Only opens, filtered in the probe: the whole host's events for the
	// window would make "dropped 0" depend on the machine's load (CI runs
	// VMs and compilers beside it), which is not what this test is about.
	// The window leaves the shell time to start on a loaded machine.
	cmd := kdriverCmd(t, "", "events", "--output", "json", "--type", "openat", "--duration", "6s")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The probe is attached once the command logs that it reads events.
	sc := bufio.NewScanner(stderr)
	var logged strings.Builder
	for sc.Scan() {
		logged.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "reading events") {
			break
		}
	}
	sh := exec.Command("/bin/sh", "-c", "echo created > "+path)
	if err := sh.Run(); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stderr)
	logged.Write(rest)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("kdriver events: %v; stderr:\n%s", err, logged.String())
	}
	if !strings.Contains(logged.String(), "dropped 0") {
		t.Errorf("stats on stderr do not report zero drops:\n%s", logged.String())
	}
	type openEvent struct {
		PID     uint32 `json:"pid"`
		Comm    string `json:"comm"`
		Type    string `json:"type"`
		Syscall string `json:"syscall"`
		Res     int64  `json:"res"`
		Path    string `json:"path"`
		Flags   uint64 `json:"flags"`
		Mode    uint64 `json:"mode"`
	}
	var found *openEvent
	for _, line := range bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n")) {
		var ev openEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if ev.Path == path && strings.HasPrefix(ev.Type, "open") {
			found = &ev
			break
		}
	}
	if found == nil {
		t.Fatalf("no open event of %s in %d bytes of output", path, stdout.Len())
	}
	const oWronly, oCreat, oTrunc = 0o1, 0o100, 0o1000
	switch {
	case found.PID != uint32(sh.Process.Pid):
		t.Errorf("pid %d, want the shell's %d", found.PID, sh.Process.Pid)
	case found.Comm != "sh":
		t.Errorf("comm %q, want sh", found.Comm)
	case found.Res < 0:
		t.Errorf("res %d, want a file descriptor", found.Res)
	case found.Flags&(oWronly|oCreat|oTrunc) != oWronly|oCreat|oTrunc:
		t.Errorf("flags %#o, want O_WRONLY|O_CREAT|O_TRUNC", found.Flags)
	case found.Syscall == "" || found.Mode == 0:
		t.Errorf("syscall %q mode %#o: want the syscall name and the creation mode", found.Syscall, found.Mode)
	}
}
