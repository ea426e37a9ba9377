//go:build linux

// Package docker_test builds the container image of docker/Dockerfile with a
// Docker engine of its own and runs it the way Falco's driver-loader image
// is run.
package docker_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kdriver/kdriver/internal/testenv"
)

// TestImage builds the scratch image and runs its entrypoint: --print-env
// reads this host through /host, modern_ebpf installs and verifies the
// probe, and kmod --download without a repository fails with the exit code
// of the CLI contract and says why.
func TestImage(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "the image test runs its own dockerd: it needs root")
	}
	for _, bin := range []string{"dockerd", "docker"} {
		if _, err := exec.LookPath(bin); err != nil {
			testenv.Missing(t, "%s needed: run scripts/setup-builder.sh", bin)
		}
	}
	// The build has no deadline of its own (a cold build cache on a busy
	// 2-core machine takes minutes; the test binary's -timeout bounds it);
	// the engine's commands have one.

	// The build context holds the static binary and nothing else, as
	// `make image` prepares it.
	bctx := t.TempDir()
	build := exec.Command(goTool(), "build", "-tags", "nokubernetes", "-trimpath",
		"-o", filepath.Join(bctx, "kdriver"), "./cmd/kdriver")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	host := testenv.StartDockerd(t, filepath.Join(testenv.CacheDir(), "image", "docker"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const image = "kdriver-image-test:latest"
	docker := func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.CommandContext(ctx, "docker", append([]string{"-H", host}, args...)...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			code = exit.ExitCode()
		case err != nil:
			t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
		}
		return o.String(), e.String(), code
	}
	if _, e, code := docker("build", "-q", "-f", "Dockerfile", "-t", image, bctx); code != 0 {
		t.Fatalf("docker build: exit %d\n%s", code, e)
	}
	run := []string{"run", "--rm", "--network", "none", "-v", "/:/host:ro"}

	t.Run("print-env", func(t *testing.T) {
		o, e, code := docker(append(run, image, "--print-env")...)
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, o, e)
		}
		env := parseEnv(o)
		var u unix.Utsname
		if err := unix.Uname(&u); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"HOST_ROOT":      "/host",
			"KERNEL_RELEASE": unix.ByteSliceToString(u.Release[:]),
			"TARGET_ID":      hostOSID(t),
		}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("%s=%q, want %q (this host)\n%s", k, env[k], v, o)
			}
		}
	})

	t.Run("modern_ebpf", func(t *testing.T) {
		testenv.RequireBPF(t)
		// No --pid host: the probe reports host pids and the self-test
		// finds its child by the nonce in the exec's argv. Docker 20.10
		// knows neither CAP_BPF nor CAP_PERFMON; SYS_ADMIN covers both.
		args := append(run[:len(run):len(run)], "--cap-add", "SYS_ADMIN", image, "modern_ebpf")
		o, e, code := docker(args...)
		if code != 0 || !strings.Contains(o, "verify: passed") {
			t.Fatalf("exit %d, want 0 and \"verify: passed\"\n%s%s", code, o, e)
		}
	})

	t.Run("kmod-download-no-repo", func(t *testing.T) {
		// Without /proc/modules the host cannot load a module at all
		// (exit 4); with it, no repository means no artifact (exit 3).
		wantCode, wantMsg := 3, "no driver artifact available"
		if _, err := os.Stat("/proc/modules"); err != nil {
			wantCode, wantMsg = 4, "host cannot run the driver"
		}
		args := append(run[:len(run):len(run)], "-e", "DRIVERS_REPO=", image, "kmod", "--download")
		o, e, code := docker(args...)
		if code != wantCode || !strings.Contains(e, wantMsg) {
			t.Fatalf("exit %d, want %d with %q\n%s%s", code, wantCode, wantMsg, o, e)
		}
	})
}

// goTool is the go command of the toolchain running the test.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// parseEnv reads KEY="value" lines.
func parseEnv(s string) map[string]string {
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env
}

// hostOSID is ID from this host's os-release.
func hostOSID(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		t.Fatal(err)
	}
	return parseEnv(string(b))["ID"]
}
