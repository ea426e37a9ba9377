package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StartDockerd starts a Docker engine of the test's own and returns its
// address for docker -H: data root dataRoot (kept between runs, so images
// made once are reused), exec root and socket in a short temporary folder,
// no bridge and no iptables (containers run with --network none). It is
// stopped when the test ends. Needs root and dockerd (scripts/setup-builder.sh).
func StartDockerd(t testing.TB, dataRoot string) string {
	t.Helper()
	bin, err := exec.LookPath("dockerd")
	if err != nil || os.Geteuid() != 0 {
		Missing(t, "dockerd (root) needed: run scripts/setup-builder.sh")
	}
	// Two engines on one data root share containerd's database, and the
	// second one's containerd then never comes up: test processes that
	// run at once (packages in parallel, or two checkouts sharing
	// $KDRIVER_CACHE) take turns on a data root instead.
	if err := os.MkdirAll(filepath.Dir(dataRoot), 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(dataRoot+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("lock %s: %v", lock.Name(), err)
	}
	t.Cleanup(func() { lock.Close() })
	// With the lock held, an engine still running on this data root is an
	// orphan of a test binary that was killed (a -timeout, a SIGKILL)
	// before its cleanup ran: its containerd keeps the database, and
	// every later engine would time out. It is stopped first.
	stopOrphans(t, dataRoot)
	run, err := os.MkdirTemp("/tmp", "kdd-")
	if err != nil {
		t.Fatal(err)
	}
	sock := "unix://" + filepath.Join(run, "d.sock")
	logf, err := os.Create(filepath.Join(t.TempDir(), "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--data-root", dataRoot, "--exec-root", filepath.Join(run, "x"),
		"--pidfile", filepath.Join(run, "d.pid"), "-H", sock,
		"--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(run)
	})
	for i := 0; ; i++ {
		if exec.Command("docker", "-H", sock, "version").Run() == nil {
			return sock
		}
		if i == 360 { // 3 minutes: a loaded 2-core machine starts slowly
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("dockerd did not come up: %s", b)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// stopOrphans kills the process group of every dockerd running with
// --data-root dataRoot, and waits until they are gone.
func stopOrphans(t testing.TB, dataRoot string) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	want := "\x00--data-root\x00" + dataRoot + "\x00"
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), want) || filepath.Base(strings.SplitN(string(b), "\x00", 2)[0]) != "dockerd" {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil {
			continue
		}
		t.Logf("stopping an orphaned dockerd (pid %d) on %s", pid, dataRoot)
		if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
			syscall.Kill(-pgid, syscall.SIGKILL) // dockerd and its containerd
		} else {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		for i := 0; i < 100; i++ {
			if _, err := os.Stat(filepath.Dir(p)); err != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
