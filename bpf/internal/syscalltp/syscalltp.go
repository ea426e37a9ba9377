// Package syscalltp attaches the eBPF probes' exec entry programs to the
// kernel's per-syscall tracepoints syscalls:sys_enter_execve and
// sys_enter_execveat (CONFIG_FTRACE_SYSCALLS): with them the kernel tests
// a bitmap at each syscall's entry and runs a program for the two exec
// syscalls only, where a raw sys_enter program runs for every syscall.
// The modern and the legacy probe share it.
package syscalltp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// tracefsMounts are where a mounted tracefs (or debugfs's tracing/) has
// the trace events: the canonical places, then every tracefs mount this
// process sees (a container given the host's at another path);
// traceEventIDs mounts one of its own when none is.
func tracefsMounts() []string {
	dirs := []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return dirs
	}
	return append(dirs, tracefsIn(string(mi))...)
}

// tracefsIn lists the mount points of the tracefs mounts of a mountinfo.
func tracefsIn(mountinfo string) []string {
	var dirs []string
	for _, line := range strings.Split(mountinfo, "\n") {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
		pre, post, ok := strings.Cut(line, " - ")
		f := strings.Fields(pre)
		if ok && len(f) >= 5 && f[3] == "/" && strings.HasPrefix(post, "tracefs ") {
			dirs = append(dirs, unescapeMountPath(f[4]))
		}
	}
	return dirs
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// traceEventIDs reads the ids of the trace events group/name from tracefs
// and checks each record's layout (checkFormat).
// Where no tracefs is mounted (a host without systemd's mount, a
// container), it mounts one on a private directory for the read and
// unmounts it: the ids are all the perf events need, and the host's mounts
// are left as they were.
func traceEventIDs(group string, names []string) ([]uint64, error) {
	for _, dir := range tracefsMounts() {
		if _, err := os.Stat(filepath.Join(dir, "events")); err == nil {
			return readEventIDs(dir, group, names)
		}
	}
	dir, err := os.MkdirTemp("", "kdriver-tracefs-")
	if err != nil {
		return nil, fmt.Errorf("tracefs: %w", err)
	}
	defer os.Remove(dir)
	if err := unix.Mount("nodev", dir, "tracefs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_RDONLY, ""); err != nil {
		return nil, fmt.Errorf("tracefs is not mounted and mounting it failed: %w", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	return readEventIDs(dir, group, names)
}

func readEventIDs(tracefs, group string, names []string) ([]uint64, error) {
	ids := make([]uint64, len(names))
	for i, name := range names {
		dir := filepath.Join(tracefs, "events", group, name)
		b, err := os.ReadFile(filepath.Join(dir, "id"))
		if err != nil {
			return nil, fmt.Errorf("trace event %s/%s: %w", group, name, err)
		}
		if ids[i], err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err != nil {
			return nil, fmt.Errorf("trace event %s/%s: id %q: %w", group, name, b, err)
		}
		format, err := os.ReadFile(filepath.Join(dir, "format"))
		if err != nil {
			return nil, fmt.Errorf("trace event %s/%s: %w", group, name, err)
		}
		if err := checkFormat(name, string(format)); err != nil {
			return nil, fmt.Errorf("trace event %s/%s: %w", group, name, err)
		}
	}
	return ids, nil
}

// Events are the exec syscalls' entry events, in the order of ExecEntryIDs.
var Events = []string{"sys_enter_execve", "sys_enter_execveat"}

// recordArgs are the arguments the probes' programs read from each event's
// record, at these offsets (struct kd_syscall_enter_record: 8 bytes of
// common fields, the syscall number, then the arguments from offset 16).
// The programs never read the syscall number, whose offset moved on
// kernels with the realtime patches' longer common fields.
var recordArgs = map[string][]struct {
	name   string
	offset int
}{
	"sys_enter_execve":   {{"filename", 16}, {"argv", 24}},
	"sys_enter_execveat": {{"fd", 16}, {"filename", 24}, {"argv", 32}, {"flags", 48}},
}

// checkFormat refuses a record whose arguments are not where the programs
// read them.
func checkFormat(name, format string) error {
	offsets := map[string]int{}
	for _, line := range strings.Split(format, "\n") {
		// field:const char * filename;	offset:16;	size:8;	signed:0;
		f := strings.Split(strings.TrimSpace(line), ";")
		if len(f) < 2 || !strings.HasPrefix(f[0], "field:") {
			continue
		}
		decl := strings.Fields(f[0])
		off, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(f[1]), "offset:"))
		if err != nil || len(decl) == 0 {
			continue
		}
		offsets[strings.TrimLeft(decl[len(decl)-1], "*")] = off
	}
	for _, a := range recordArgs[name] {
		if got, ok := offsets[a.name]; !ok || got != a.offset {
			return fmt.Errorf("record field %s at offset %d (present: %v), the programs read it at %d", a.name, got, ok, a.offset)
		}
	}
	return nil
}

// ExecEntryIDs returns the ids of Events, after checking that their records
// hold the arguments where the programs read them.
func ExecEntryIDs() ([]uint64, error) {
	return traceEventIDs("syscalls", Events)
}

// LoadAttach loads the programs of spec with opts and attaches each of
// names with attach, in that order; on an error nothing of it stays loaded
// or attached. The probes load their exec entry programs this way, apart
// from the rest, so that a failure leaves their sys_enter program to take
// the entries.
func LoadAttach(spec *ebpf.CollectionSpec, opts ebpf.CollectionOptions, names []string,
	attach func(name string, prog *ebpf.Program) (io.Closer, error)) (*ebpf.Collection, []io.Closer, error) {
	coll, err := ebpf.NewCollectionWithOptions(spec, opts)
	if err != nil {
		return nil, nil, err
	}
	var links []io.Closer
	for _, name := range names {
		l, err := attach(name, coll.Programs[name])
		if err != nil {
			for _, l := range links {
				_ = l.Close()
			}
			coll.Close()
			return nil, nil, fmt.Errorf("attach %s: %w", name, err)
		}
		links = append(links, l)
	}
	return coll, links, nil
}

// Link is a tracepoint program attached through a perf event:
// a BPF link on 5.15+, else the perf event itself (PERF_EVENT_IOC_SET_BPF),
// which detaches the program when closed.
type Link struct {
	perf *os.File
	link link.Link
}

// Close detaches the program.
func (l *Link) Close() error {
	var err error
	if l.link != nil {
		err = l.link.Close()
	}
	return errors.Join(err, l.perf.Close())
}

// Attach attaches prog to the trace event of the given id. A
// tracepoint's programs run on every CPU whatever CPU its perf event was
// opened on (they hang off the event, not the perf event).
func Attach(prog *ebpf.Program, id uint64) (*Link, error) {
	attr := unix.PerfEventAttr{
		Type:        unix.PERF_TYPE_TRACEPOINT,
		Size:        uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Config:      id,
		Sample_type: unix.PERF_SAMPLE_RAW,
		Sample:      1,
		Wakeup:      1,
	}
	fd, err := unix.PerfEventOpen(&attr, -1, 0, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("perf event of trace event %d: %w", id, err)
	}
	l := &Link{perf: os.NewFile(uintptr(fd), "perf_event")}
	raw, lerr := link.AttachRawLink(link.RawLinkOptions{Target: fd, Program: prog, Attach: ebpf.AttachPerfEvent})
	if lerr == nil {
		l.link = raw
		return l, nil
	}
	// Before 5.15 (no BPF links for perf events): the ioctls.
	if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_SET_BPF, prog.FD()); err != nil {
		l.perf.Close()
		return nil, fmt.Errorf("perf event of trace event %d: link: %w; set program: %w", id, lerr, err)
	}
	if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_ENABLE, 0); err != nil {
		l.perf.Close()
		return nil, fmt.Errorf("perf event of trace event %d: enable: %w", id, err)
	}
	return l, nil
}
