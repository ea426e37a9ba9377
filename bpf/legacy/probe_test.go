package legacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/internal/testenv"
)

// probeFile is the probe to load: in the qemu guests of scripts/vmtest the
// one built for the guest's kernel (KDRIVER_EBPF_GUEST), on a development
// host the testdata object of its arch. Built for 6.1 headers, that one
// loads on newer kernels too (pt_regs and the syscall tracepoints are
// stable), though process exit fields read another kernel's offsets there:
// the tests below look only at syscall events.
func probeFile(t *testing.T) string {
	t.Helper()
	// Root, not BTF: this probe is for kernels that may have none.
	if os.Geteuid() != 0 {
		testenv.Missing(t, "loading the probe needs root (euid %d)", os.Geteuid())
	}
	if p := os.Getenv("KDRIVER_EBPF_GUEST"); p != "" {
		return p
	}
	return map[string]string{"amd64": amd64Probe, "arm64": arm64Probe}[runtime.GOARCH]
}

func loadProbe(t *testing.T, opts Options) *Probe {
	t.Helper()
	p, err := LoadFile(probeFile(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// result prints a line the VM harness collects into its results.
func result(t *testing.T, fields map[string]any) {
	fields["case"] = t.Name()
	b, _ := json.Marshal(fields)
	fmt.Printf("KDRIVER-RESULT %s\n", b)
}

// probeObjects are the kernel IDs of the probe's programs and maps.
func probeObjects(t *testing.T, p *Probe) (progs []ebpf.ProgramID, maps []ebpf.MapID) {
	t.Helper()
	for name, prog := range p.coll.Programs {
		info, err := prog.Info()
		if err != nil {
			t.Fatal(err)
		}
		id, ok := info.ID()
		if !ok {
			t.Fatalf("program %s: no ID", name)
		}
		progs = append(progs, id)
	}
	for name, m := range p.coll.Maps {
		info, err := m.Info()
		if err != nil {
			t.Fatal(err)
		}
		id, ok := info.ID()
		if !ok {
			t.Fatalf("map %s: no ID", name)
		}
		maps = append(maps, id)
	}
	return progs, maps
}

// An open of a nonce path made after the load arrives as openat_x with the
// path, and closing the source leaves none of the probe's programs or maps
// in the kernel (nothing is pinned either).
func TestOpenatAndCleanup(t *testing.T) {
	p := loadProbe(t, Options{BufSizePreset: 1, Types: []events.Type{events.TypeOpenatX}})
	progs, maps := probeObjects(t, p)
	src := NewSource(p)
	nonce := filepath.Join(t.TempDir(), "legacy-nonce-"+strconv.FormatInt(time.Now().UnixNano(), 10))
	if err := os.WriteFile(nonce, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	found := false
	for !found {
		if _, err := os.ReadFile(nonce); err != nil {
			t.Fatal(err)
		}
		ev, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("no openat of %s: %v", nonce, err)
		}
		found = ev.Type == events.TypeOpenatX && ev.Str(2) == nonce && ev.Int(0) >= 0
	}
	st, err := src.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Events == 0 {
		t.Errorf("stats count no events: %+v", st)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	// The kernel frees programs and maps after an RCU grace period: give
	// it a few seconds, then name what is left.
	var left []string
	for try := 0; try < 100; try++ {
		left = left[:0]
		for _, id := range progs {
			if prog, err := ebpf.NewProgramFromID(id); err == nil {
				prog.Close()
				left = append(left, fmt.Sprintf("program %d", id))
			} else if !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("program %d: %v", id, err)
			}
		}
		for _, id := range maps {
			if m, err := ebpf.NewMapFromID(id); err == nil {
				m.Close()
				left = append(left, fmt.Sprintf("map %d", id))
			} else if !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("map %d: %v", id, err)
			}
		}
		if len(left) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Fatalf("still in the kernel 10s after Close: %v", left)
	}
	result(t, map[string]any{"programs": len(progs), "maps": len(maps), "left": 0})
}

// Five seconds of openat from four threads against small buffers and a
// reader: every syscall made is counted as written or dropped (no silent
// loss), and the reader never gets more than was written.
func TestStress(t *testing.T) {
	p := loadProbe(t, Options{BufSizePreset: 1})
	src := NewSource(p)
	defer src.Close()
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
		for ctx.Err() == nil {
			if _, err := src.Next(ctx); err != nil {
				if errors.Is(err, context.Canceled) {
					err = nil
				}
				readErr <- err
				return
			}
			read.Add(1)
		}
		readErr <- nil
	}()
	time.Sleep(5 * time.Second)
	close(stop)
	wg.Wait()
	time.Sleep(500 * time.Millisecond)
	cancel()
	if err := <-readErr; err != nil {
		t.Fatalf("reader: %v", err)
	}
	st, err := src.Stats()
	if err != nil {
		t.Fatal(err)
	}
	result(t, map[string]any{"syscalls": calls.Load(), "events": st.Events, "drops": st.Drops, "read": read.Load()})
	t.Logf("stress: %d syscalls, %d events written, %d read, %d dropped", calls.Load(), st.Events, read.Load(), st.Drops)
	if st.Events == 0 || read.Load() == 0 {
		t.Fatal("no events under load")
	}
	if read.Load() > st.Events {
		t.Fatalf("read %d events, probe wrote %d", read.Load(), st.Events)
	}
	if st.Events+st.Drops < calls.Load() {
		t.Fatalf("%d syscalls but %d events written + %d dropped: events lost without being counted", calls.Load(), st.Events, st.Drops)
	}
}

// A load that fails after the probe's programs were loaded and some
// attached returns the error and leaves none of them in the kernel (it
// used to close a nil probe and crash).
func TestFailedAttachLeavesNothing(t *testing.T) {
	file := probeFile(t)
	attach := attachRawTracepoint
	t.Cleanup(func() { attachRawTracepoint = attach })
	// The programs this load made (other tests may load the probe too).
	var made []ebpf.ProgramID
	attachRawTracepoint = func(o link.RawTracepointOptions) (link.Link, error) {
		if info, err := o.Program.Info(); err == nil {
			if id, ok := info.ID(); ok {
				made = append(made, id)
			}
		}
		if o.Name == Programs["kd_sys_exit"] {
			return nil, errors.New("refused by the test")
		}
		return attach(o)
	}
	p, err := LoadFile(file, Options{BufSizePreset: 1})
	if err == nil {
		p.Close()
		t.Fatal("loaded with sys_exit's attach refused")
	}
	if !strings.Contains(err.Error(), "attach kd_sys_exit: refused by the test") {
		t.Fatalf("error %v does not name the refused attach", err)
	}
	if len(made) == 0 {
		t.Fatal("no program was attached before the refusal")
	}
	// The kernel frees a detached program after an RCU grace period.
	var left []ebpf.ProgramID
	for try := 0; try < 100; try++ {
		left = left[:0]
		for _, id := range made {
			if prog, err := ebpf.NewProgramFromID(id); err == nil {
				prog.Close()
				left = append(left, id)
			}
		}
		if len(left) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("programs %v of the failed load still in the kernel 10s later", left)
}
