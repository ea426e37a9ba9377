//go:build vmguest

package kmod_test

// Tests that load the real module. They run only inside the qemu guests
// that scripts/vmtest boots (this machine's kernel cannot load modules),
// built into the guest's test binary with `-tags vmguest`: a host run never
// sees them, so none of them can skip there. The harness sets
// KDRIVER_KMOD_GUEST to the .ko to test.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/kernelrelease"
	"github.com/kdriver/kdriver/kmod"
)

const childEnv = "KDRIVER_KMOD_CHILD"

// TestMain lets the test binary act as the self-test child: it opens a
// nonce path, connects to a closed port and exits with a known code.
func TestMain(m *testing.M) {
	if nonce := os.Getenv(childEnv); nonce != "" {
		if f, err := os.Open(nonce); err == nil {
			f.Close()
		}
		// a blocking connect, so that the syscall itself is refused
		if fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0); err == nil {
			_ = unix.Connect(fd, &unix.SockaddrInet4{Port: 1, Addr: [4]byte{127, 0, 0, 1}})
			unix.Close(fd)
		}
		os.Exit(42)
	}
	os.Exit(m.Run())
}

func guestModule(t *testing.T) string {
	t.Helper()
	ko := os.Getenv("KDRIVER_KMOD_GUEST")
	if ko == "" {
		t.Fatal("KDRIVER_KMOD_GUEST is not set: these tests run in the guests of scripts/vmtest")
	}
	return ko
}

func uname(t *testing.T) (release, arch string) {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	return unix.ByteSliceToString(u.Release[:]), unix.ByteSliceToString(u.Machine[:])
}

func load(t *testing.T, ko string) {
	t.Helper()
	rel, arch := uname(t)
	if _, err := kmod.Preflight(ko, kmod.Want{Arch: arch, KernelRelease: rel, Name: kmod.ModuleName}); err != nil {
		t.Fatal(err)
	}
	if err := kmod.Load(context.Background(), ko, "buf_size=1048576"); err != nil {
		t.Fatal(err)
	}
}

func unload(t *testing.T) {
	t.Helper()
	if err := kmod.Unload(context.Background(), kmod.ModuleName, kmod.UnloadOptions{}); err != nil {
		t.Fatal(err)
	}
}

// result prints one machine-readable line that scripts/vmtest collects.
func result(t *testing.T, fields map[string]any) {
	fields["case"] = t.Name()
	b, _ := json.Marshal(fields)
	fmt.Printf("KDRIVER-RESULT %s\n", b)
}

// selfTest runs the child and waits for its events: execve of the test
// binary, open of the nonce, the refused connect, and exit code 42.
func selfTest(t *testing.T, d *kmod.Device) {
	t.Helper()
	nonce := filepath.Join(t.TempDir(), fmt.Sprintf("nonce-%d", time.Now().UnixNano()))
	if err := os.WriteFile(nonce, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"="+nonce)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := uint32(cmd.Process.Pid)
	_ = cmd.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want := map[string]bool{"execve_e": false, "execve_x": false, "openat_x": false, "connect_x": false, "procexit": false}
	for missing := len(want); missing > 0; {
		ev, err := d.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %v: %v", want, err)
		}
		if ev.PID != pid {
			continue
		}
		name := ev.Type.String()
		ok := false
		switch ev.Type {
		case events.TypeExecveE:
			ok = string(ev.Params[0]) == self+"\x00"
		case events.TypeExecveX:
			ok = ev.Int(0) == 0
		case events.TypeOpenatX:
			ok = string(ev.Params[2]) == nonce+"\x00" && ev.Int(0) >= 0
		case events.TypeConnectX:
			ok = ev.Int(0) == -int64(unix.ECONNREFUSED) && len(ev.Params[2]) >= 8
		case events.TypeProcExit:
			ok = ev.TID == pid && ev.Int(1) == 42
		}
		if done, tracked := want[name]; tracked && ok && !done {
			want[name] = true
			missing--
		}
	}
	st, err := d.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Drops != 0 {
		t.Fatalf("%d drops during the self-test", st.Drops)
	}
}

func TestGuestLoadVerifyUnload(t *testing.T) {
	ko := guestModule(t)
	load(t, ko)
	d, err := kmod.Open(kmod.DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	selfTest(t, d)
	st, _ := d.Stats()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	unload(t)
	result(t, map[string]any{"events": st.Events, "drops": st.Drops})
}

func TestGuestSyscallMask(t *testing.T) {
	ko := guestModule(t)
	load(t, ko)
	defer unload(t)
	_, arch := uname(t)
	nr, ok := events.SyscallNumber(kernelrelease.ArchOf(arch), "close")
	if !ok {
		t.Fatalf("no close on %s", arch)
	}
	d, err := kmod.Open(kmod.DeviceOptions{Syscalls: []int{nr}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for range 10 {
		f, err := os.Open("/proc/self/stat")
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	closes := 0
	for {
		ev, err := d.Next(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Type {
		case events.TypeCloseX:
			closes++
		case events.TypeProcExit:
		default:
			t.Fatalf("mask allows only close, got %s", ev.Type)
		}
	}
	if closes < 10 {
		t.Fatalf("%d close events, want at least 10", closes)
	}
	// The next reader without a mask gets every syscall again.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d2, err := kmod.Open(kmod.DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	selfTest(t, d2)
}

func TestGuestUnloadWhileReading(t *testing.T) {
	ko := guestModule(t)
	load(t, ko)
	d, err := kmod.Open(kmod.DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kmod.Open(kmod.DeviceOptions{}); err == nil {
		t.Fatal("second reader opened the device")
	}
	err = kmod.Unload(context.Background(), kmod.ModuleName, kmod.UnloadOptions{Retries: 2, Delay: 10 * time.Millisecond})
	if !errors.Is(err, kmod.ErrInUse) {
		t.Fatalf("unload with a reader: %v, want ErrInUse", err)
	}
	if ok, _ := kmod.Loaded("", kmod.ModuleName); !ok {
		t.Fatal("module gone after a refused unload")
	}
	// the device still works after the refusal
	selfTest(t, d)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	unload(t)
	result(t, map[string]any{"refused": err.Error()})
}

func TestGuestStress(t *testing.T) {
	ko := guestModule(t)
	load(t, ko)
	defer unload(t)
	d, err := kmod.Open(kmod.DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const threads = 4
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var calls atomic.Uint64
	for i := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			path := "/proc/self/status"
			if i%2 == 1 {
				path = "/nonexistent/" + strconv.Itoa(i)
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				if fd, err := unix.Open(path, unix.O_RDONLY, 0); err == nil {
					unix.Close(fd)
				}
				calls.Add(1)
			}
		}()
	}
	var read atomic.Uint64
	readErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			// Next returns waiting events without looking at ctx.
			if ctx.Err() != nil {
				readErr <- nil
				return
			}
			_, err := d.Next(ctx)
			if err != nil {
				if errors.Is(err, context.Canceled) {
					err = nil
				}
				readErr <- err
				return
			}
			read.Add(1)
		}
	}()
	time.Sleep(5 * time.Second)
	close(stop)
	wg.Wait()
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-readErr; err != nil {
		t.Fatalf("reader: %v", err)
	}
	st, err := d.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	result(t, map[string]any{"syscalls": calls.Load(), "events": st.Events, "drops": st.Drops, "read": read.Load()})
	t.Logf("stress: %d syscalls, %d events written, %d read, %d dropped", calls.Load(), st.Events, read.Load(), st.Drops)
	if st.Events == 0 || read.Load() == 0 {
		t.Fatal("no events under load")
	}
	if read.Load() > st.Events {
		t.Fatalf("read %d events, module wrote %d", read.Load(), st.Events)
	}
}

func TestGuestCycles(t *testing.T) {
	ko := guestModule(t)
	const cycles = 20
	for i := range cycles {
		load(t, ko)
		d, err := kmod.Open(kmod.DeviceOptions{})
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		selfTest(t, d)
		if err := d.Close(); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		unload(t)
	}
	if ok, _ := kmod.Loaded("", kmod.ModuleName); ok {
		t.Fatal("module still loaded after the cycles")
	}
	if _, err := os.Stat("/dev/" + kmod.DeviceName); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("/dev/%s left behind: %v", kmod.DeviceName, err)
	}
	if _, err := os.Stat("/sys/module/" + kmod.ModuleName); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("/sys/module/%s left behind: %v", kmod.ModuleName, err)
	}
	result(t, map[string]any{"cycles": cycles})
}

// TestGuestPreflightRefuses: kdriver install refuses a module for another
// kernel release, another arch, or a truncated one before the kernel sees
// it, naming the mismatch; nothing gets loaded and the kernel never logs
// "Invalid module format".
func TestGuestPreflightRefuses(t *testing.T) {
	ko := guestModule(t)
	cli := os.Getenv("KDRIVER_GUEST_CLI")
	other := os.Getenv("KDRIVER_KMOD_OTHER_ARCH")
	if cli == "" || other == "" {
		t.Fatal("KDRIVER_GUEST_CLI and KDRIVER_KMOD_OTHER_ARCH must be set in the guest")
	}
	good, err := os.ReadFile(ko)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := uname(t)
	dir := t.TempDir()
	// Same length, another release: the first digit of vermagic's release.
	i := bytes.Index(good, []byte("vermagic="+rel))
	if i < 0 {
		t.Fatalf("no vermagic=%s in %s", rel, ko)
	}
	wrongRel := bytes.Clone(good)
	wrongRel[i+len("vermagic=")] = '9'
	otherRel := "9" + rel[1:]
	for _, tc := range []struct {
		name   string
		data   []byte
		path   string
		inText []string
	}{
		{"other release", wrongRel, "", []string{"kernel release " + otherRel, rel}},
		{"other arch", nil, other, []string{"arch"}},
		{"truncated", good[:len(good)/2], "", []string{"not a kernel module"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".ko")
				if err := os.WriteFile(path, tc.data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			out, err := exec.Command(cli, "install", "--type", "kmod", "--file", path, "--verify=false").CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("install of a bad module: %v\n%s", err, out)
			}
			t.Logf("refused: %s", bytes.TrimSpace(out))
			for _, s := range tc.inText {
				if !strings.Contains(string(out), s) {
					t.Errorf("output does not name %q:\n%s", s, out)
				}
			}
			if ok, _ := kmod.Loaded("", kmod.ModuleName); ok {
				t.Fatal("a refused module is loaded")
			}
		})
	}
	log, err := exec.Command("dmesg").CombinedOutput()
	if err != nil {
		t.Fatalf("dmesg: %v", err)
	}
	if bytes.Contains(log, []byte("Invalid module format")) || bytes.Contains(log, []byte("disagrees about version")) {
		t.Fatalf("a bad module reached the kernel:\n%s", log)
	}
	result(t, map[string]any{"refused": 3})
}
