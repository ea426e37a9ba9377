package scap

import (
	"encoding/binary"
	"os"
	"strconv"
	"strings"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/kernelrelease"
)

// maxThreads bounds the translator's per-thread tables: past it they are
// forgotten wholesale (a thread then falls back to the lookup).
const maxThreads = 1 << 16

// ThreadInfo is what the translator knows of a thread: its process id
// (tgid) and comm. The driver's header carries only the thread id.
type ThreadInfo struct {
	PID  uint32
	Comm string
}

// LookupFunc finds a thread the driver has not told about (one that
// existed before the capture started); ok false: unknown.
type LookupFunc func(tid uint64) (ThreadInfo, bool)

// ProcLookup reads /proc/<tid>/status: right when kdriver shares the
// driver's (the initial) pid namespace.
func ProcLookup(tid uint64) (ThreadInfo, bool) {
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(tid, 10) + "/status")
	if err != nil {
		return ThreadInfo{}, false
	}
	var ti ThreadInfo
	ok := false
	for line := range strings.Lines(string(b)) {
		k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), ":")
		v = strings.TrimSpace(v)
		switch k {
		case "Name":
			ti.Comm = v
		case "Tgid":
			if n, err := strconv.ParseUint(v, 10, 32); err == nil {
				ti.PID, ok = uint32(n), true
			}
		}
	}
	return ti, ok
}

// enter keeps what an enter event carries that its exit event may lack
// (schema 3: the exec's filename, a failed connect's address).
type enter struct {
	filename string
	dirfd    int64
	flags    uint64
	addr     []byte // raw struct sockaddr
}

// Translator turns the driver's events into kdriver events. It keeps
// per-thread state, so one Translator sees one stream, in order.
type Translator struct {
	// Epoch is subtracted from the driver's wall-clock timestamps to give
	// kdriver's boot-clock ones (0: kept as they are).
	Epoch   uint64
	arch    string
	lookup  LookupFunc
	threads map[uint64]ThreadInfo
	pending map[uint64]enter
}

// NewTranslator returns a translator for the events of arch (x86_64 or
// aarch64: open flags differ); lookup may be nil.
func NewTranslator(arch string, lookup LookupFunc) *Translator {
	return &Translator{arch: string(kernelrelease.ArchOf(arch)), lookup: lookup, threads: map[uint64]ThreadInfo{}, pending: map[uint64]enter{}}
}

func (t *Translator) thread(tid uint64) ThreadInfo {
	if ti, ok := t.threads[tid]; ok {
		return ti
	}
	ti := ThreadInfo{PID: uint32(tid)}
	if t.lookup != nil {
		if found, ok := t.lookup(tid); ok {
			ti = found
		}
	}
	t.remember(tid, ti)
	return ti
}

func (t *Translator) remember(tid uint64, ti ThreadInfo) {
	if len(t.threads) >= maxThreads {
		clear(t.threads)
	}
	t.threads[tid] = ti
}

func (t *Translator) keep(tid uint64, e enter) {
	if len(t.pending) >= maxThreads {
		clear(t.pending)
	}
	t.pending[tid] = e
}

// Translate appends to dst the kdriver events r stands for (none for the
// events kdriver does not report) and returns it. The events own their
// bytes: nothing aliases r.
func (t *Translator) Translate(dst []*events.Event, r *Raw, cpu uint32) []*events.Event {
	ev := func(typ events.Type, ti ThreadInfo, params ...[]byte) *events.Event {
		return &events.Event{TS: r.TS - min(t.Epoch, r.TS), TID: uint32(r.TID), PID: ti.PID, Type: typ, CPU: cpu, Comm: ti.Comm, Params: params}
	}
	switch r.Code {
	case codeExecveE:
		t.keep(r.TID, enter{filename: r.str(0)})
	case codeExecveatE:
		dirfd, _ := r.int(0)
		flags, _ := r.uint(2)
		t.keep(r.TID, enter{dirfd: dirfd, filename: r.str(1), flags: flags})
	case codeConnectE:
		t.keep(r.TID, enter{addr: sockaddr(r.param(1))})
	case codeExecveX, codeExecveatX:
		res, _ := r.int(0)
		e := t.pending[r.TID]
		delete(t.pending, r.TID)
		ti := t.thread(r.TID)
		if res == 0 {
			if pid, ok := r.uint(4); ok {
				ti.PID = uint32(pid)
			}
			ti.Comm = r.str(13)
			t.remember(r.TID, ti)
		}
		filename := r.str(30) // schema 4 only
		if filename == "" {
			filename = e.filename
		}
		if filename == "" {
			filename = r.str(1)
		}
		argv := append(append([]byte(r.str(1)), 0), r.param(2)...)
		if argv[len(argv)-1] != 0 {
			argv = append(argv, 0)
		}
		if r.Code == codeExecveX {
			dst = append(dst, ev(events.TypeExecveE, ti, cstr(filename), argv),
				ev(events.TypeExecveX, ti, i64(res)))
		} else {
			dst = append(dst, ev(events.TypeExecveatE, ti, i64(e.dirfd), cstr(filename), argv, u64(e.flags)),
				ev(events.TypeExecveatX, ti, i64(res)))
		}
	case codeCloneX, codeClone3X, codeForkX, codeVforkX:
		// The child's side (res 0) names the new thread's process.
		if res, _ := r.int(0); res == 0 {
			tid, ok1 := r.uint(3)
			pid, ok2 := r.uint(4)
			if ok1 && ok2 {
				t.remember(tid, ThreadInfo{PID: uint32(pid), Comm: r.str(13)})
			}
		}
	case codeOpenX, codeOpenatX, codeOpenat2X:
		// open_x: fd name flags mode …; openat_x, openat2_x: fd dirfd name flags mode …
		typ, first, dirfd := events.TypeOpenX, 1, int64(-100) // AT_FDCWD
		if r.Code != codeOpenX {
			typ, first = events.TypeOpenatX, 2
			if r.Code == codeOpenat2X {
				typ = events.TypeOpenat2X
			}
			dirfd, _ = r.int(1)
		}
		res, _ := r.int(0)
		flags, _ := r.uint(first + 1)
		mode, _ := r.uint(first + 2)
		dst = append(dst, ev(typ, t.thread(r.TID), i64(res), i64(dirfd), cstr(r.str(first)),
			u64(openFlags(t.arch, flags)), u64(mode)))
	case codeConnectX:
		// res tuple fd [addr (schema 4)]; a refused connect has no tuple.
		res, _ := r.int(0)
		fd, _ := r.int(2)
		e := t.pending[r.TID]
		delete(t.pending, r.TID)
		addr := sockaddr(r.param(3))
		if addr == nil {
			addr = tupleDest(r.param(1))
		}
		if addr == nil {
			addr = e.addr
		}
		dst = append(dst, ev(events.TypeConnectX, t.thread(r.TID), i64(res), i64(fd), addr))
	case codeProcExitE:
		// status ret sig core reaper_tid
		status, _ := r.int(0)
		ret, _ := r.int(1)
		sig, _ := r.uint(2)
		dst = append(dst, ev(events.TypeProcExit, t.thread(r.TID), i64(status), i64(ret), i64(int64(sig))))
		delete(t.threads, r.TID)
		delete(t.pending, r.TID)
	}
	return dst
}

func i64(v int64) []byte  { return binary.LittleEndian.AppendUint64(nil, uint64(v)) }
func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
func cstr(s string) []byte {
	return append([]byte(s), 0)
}

// sockaddr turns the driver's packed address (PT_SOCKADDR: family u8, then
// IPv4 address and host-order port, IPv6 address and port, or a unix
// path) into a struct sockaddr as the kernel lays it out; nil if empty or
// not understood.
func sockaddr(p []byte) []byte {
	if len(p) < 1 {
		return nil
	}
	switch p[0] {
	case ppmAFInet:
		if len(p) < 7 {
			return nil
		}
		return inet4(p[1:5], binary.LittleEndian.Uint16(p[5:]))
	case ppmAFInet6:
		if len(p) < 19 {
			return nil
		}
		return inet6(p[1:17], binary.LittleEndian.Uint16(p[17:]))
	case ppmAFUnix:
		return unixAddr(p[1:])
	}
	return nil
}

// tupleDest returns the remote end of a PT_SOCKTUPLE (family u8, source
// address and port, destination address and port; unix: two u64 kernel
// pointers and the path) as a struct sockaddr; nil if empty.
func tupleDest(p []byte) []byte {
	if len(p) < 1 {
		return nil
	}
	le := binary.LittleEndian
	switch p[0] {
	case ppmAFInet:
		if len(p) < 13 {
			return nil
		}
		return inet4(p[7:11], le.Uint16(p[11:]))
	case ppmAFInet6:
		if len(p) < 37 {
			return nil
		}
		return inet6(p[19:35], le.Uint16(p[35:]))
	case ppmAFUnix:
		if len(p) < 17 {
			return nil
		}
		return unixAddr(p[17:])
	}
	return nil
}

func inet4(ip []byte, port uint16) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b, 2) // AF_INET
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[4:8], ip)
	return b
}

func inet6(ip []byte, port uint16) []byte {
	b := make([]byte, 28)
	binary.LittleEndian.PutUint16(b, 10) // AF_INET6
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[8:24], ip)
	return b
}

func unixAddr(path []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, 1) // AF_UNIX
	return append(b, path...)
}

// openFlags turns PPM_O_* back into open(2) flags of arch.
func openFlags(arch string, f uint64) uint64 {
	const (
		oWronly   = 0o1
		oRdwr     = 0o2
		oCreat    = 0o100
		oExcl     = 0o200
		oTrunc    = 0o1000
		oAppend   = 0o2000
		oNonblock = 0o4000
		oDsync    = 0o10000
		oCloexec  = 0o2000000
		oSync     = 0o4000000 | oDsync
		oTmpfile  = 0o20000000
	)
	// The ones that differ between x86_64 and aarch64.
	oDirect, oLargefile, oDirectory := uint64(0o40000), uint64(0o100000), uint64(0o200000)
	if arch == "aarch64" {
		oDirectory, oDirect, oLargefile = 0o40000, 0o200000, 0o400000
	}
	var out uint64
	switch f & (ppmORdonly | ppmOWronly) {
	case ppmOWronly:
		out |= oWronly
	case ppmORdonly | ppmOWronly:
		out |= oRdwr
	}
	for _, m := range []struct{ ppm, linux uint64 }{
		{ppmOCreat, oCreat}, {ppmOAppend, oAppend}, {ppmODsync, oDsync}, {ppmOExcl, oExcl},
		{ppmONonblock, oNonblock}, {ppmOSync, oSync}, {ppmOTrunc, oTrunc}, {ppmODirect, oDirect},
		{ppmODirectory, oDirectory}, {ppmOLargefile, oLargefile}, {ppmOCloexec, oCloexec},
		{ppmOTmpfile, oTmpfile | oDirectory},
	} {
		if f&m.ppm != 0 {
			out |= m.linux
		}
	}
	return out
}
