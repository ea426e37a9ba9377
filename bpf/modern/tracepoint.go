package modern

import (
	"errors"
	"fmt"
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

// traceEventIDs reads the ids of the trace events group/name from tracefs.
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
		b, err := os.ReadFile(filepath.Join(tracefs, "events", group, name, "id"))
		if err != nil {
			return nil, fmt.Errorf("trace event %s/%s: %w", group, name, err)
		}
		if ids[i], err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err != nil {
			return nil, fmt.Errorf("trace event %s/%s: id %q: %w", group, name, b, err)
		}
	}
	return ids, nil
}

// tracepointLink is a tracepoint program attached through a perf event:
// a BPF link on 5.15+, else the perf event itself (PERF_EVENT_IOC_SET_BPF),
// which detaches the program when closed.
type tracepointLink struct {
	perf *os.File
	link link.Link
}

func (l *tracepointLink) Close() error {
	var err error
	if l.link != nil {
		err = l.link.Close()
	}
	return errors.Join(err, l.perf.Close())
}

// attachTracepoint attaches prog to the trace event of the given id. A
// tracepoint's programs run on every CPU whatever CPU its perf event was
// opened on (they hang off the event, not the perf event).
func attachTracepoint(prog *ebpf.Program, id uint64) (*tracepointLink, error) {
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
	l := &tracepointLink{perf: os.NewFile(uintptr(fd), "perf_event")}
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
