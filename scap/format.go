package scap

import (
	"errors"
	"fmt"
)

// ErrUnsupported: the module speaks an API or schema this reader does not.
var ErrUnsupported = errors.New("libs module version not supported")

// Version is the packed API or schema version the module reports
// (PPM_API_VERSION: major 19 bits at 44, minor 20 bits at 24, patch 24 bits).
type Version uint64

func (v Version) Major() uint64 { return uint64(v) >> 44 & (1<<19 - 1) }
func (v Version) Minor() uint64 { return uint64(v) >> 24 & (1<<20 - 1) }
func (v Version) Patch() uint64 { return uint64(v) & (1<<24 - 1) }
func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d", v.Major(), v.Minor(), v.Patch())
}

// PackVersion builds a Version (tests and fakes).
func PackVersion(major, minor, patch uint64) Version {
	return Version(major&(1<<19-1)<<44 | minor&(1<<20-1)<<24 | patch&(1<<24-1))
}

// APIMajor is the one API major this reader speaks (libs 0.20 … 0.23).
const APIMajor = 8

// Layout is what differs between the supported schema majors.
type Layout struct {
	Schema Version
	// DropsPFOffset is the offset of n_drops_pf in ppm_ring_buffer_info:
	// schema 3 (0.20.0) keeps 14 per-category drop counters before it,
	// schema 4 (0.23.2) 10.
	DropsPFOffset int
}

// CheckVersions returns the layout of a module reporting api and schema,
// or an error wrapping ErrUnsupported that names both.
func CheckVersions(api, schema Version) (Layout, error) {
	switch {
	case api.Major() == 1:
		return Layout{}, fmt.Errorf("%w: module API %s is the 2022 driver (falcosecurity-scap 0.1.x); kdriver reads API %d.x (libs 0.20 and later)",
			ErrUnsupported, api, APIMajor)
	case api.Major() != APIMajor:
		return Layout{}, fmt.Errorf("%w: module API %s, kdriver reads API %d.x", ErrUnsupported, api, APIMajor)
	}
	switch schema.Major() {
	case 3:
		return Layout{Schema: schema, DropsPFOffset: 136}, nil
	case 4:
		return Layout{Schema: schema, DropsPFOffset: 104}, nil
	}
	return Layout{}, fmt.Errorf("%w: module API %s with event schema %s, kdriver reads schemas 3.x and 4.x",
		ErrUnsupported, api, schema)
}

// struct ppm_evt_hdr is packed: ts u64, tid u64, len u32, type u16,
// nparams u32; then nparams lengths (u16, or u32 for large-payload
// events), then the parameters.
const (
	HeaderLen = 26
	// MaxEventLen bounds one event: the driver's per-event scratch space
	// is far smaller; anything longer is corruption.
	MaxEventLen = 1 << 20
	// maxParams is above every event of both schemas (execve_x has 31).
	maxParams = 64
)

// Ring info page offsets (struct ppm_ring_buffer_info).
const (
	infoHead         = 0 // u32, written by the driver
	infoTail         = 4 // u32, written by the reader
	infoEvents       = 8
	infoDropsBuffer  = 16
	defaultBufferDim = 8 << 20 // DEFAULT_BUFFER_BYTES_DIM
)

// Event codes (enum ppm_event_code), the same in 0.1.1dev, 0.20.0 and 0.23.2.
const (
	codeOpenE        = 2
	codeOpenX        = 3
	codeConnectE     = 22
	codeConnectX     = 23
	codeProcExitE    = 186
	codeCloneX       = 223
	codeForkX        = 225
	codeVforkX       = 227
	codeExecveE      = 292
	codeExecveX      = 293
	codeOpenatE      = 306
	codeOpenatX      = 307
	codePluginEventE = 322
	codeContainerE   = 324
	codeOpenat2X     = 327
	codeExecveatE    = 330
	codeExecveatX    = 331
	codeClone3X      = 335
	codeAsyncEventE  = 402
)

// largePayload: events whose parameter lengths are u32 (EF_LARGE_PAYLOAD).
// The kernel module never writes them; the decoder still accepts them.
func largePayload(code uint16) bool {
	return code == codePluginEventE || code == codeContainerE || code == codeAsyncEventE
}

// ioctl requests: _IO('s', n), no direction nor size.
const (
	iocMagic         = 's'
	iocGetAPIVersion = iocMagic<<8 | 24
	iocGetSchema     = iocMagic<<8 | 25
	iocEnableSyscall = iocMagic<<8 | 29
	iocEnableTP      = iocMagic<<8 | 31
	iocDisableTP     = iocMagic<<8 | 32
)

// Tracepoints (enum kmod_prog_codes, ppm_tp.h): the reader attaches
// sys_enter, sys_exit and sched_process_exit, and sched_process_exec and
// sched_process_fork, through which API 8 drivers report a successful
// execve's and (on arm64) a new child's exit event.
var captureTPs = []uintptr{0, 1, 2, 7, 8}

// Syscalls enabled with PPM_IOCTL_ENABLE_SYSCALL (by the arch's own number;
// SYSCALL_TABLE_ID0 is 0 on x86_64 and aarch64): those of the translated
// events, and the clone family whose child exits tell a thread's process.
var captureSyscalls = []string{
	"execve", "execveat", "open", "openat", "openat2", "connect",
	"clone", "clone3", "fork", "vfork",
}

// Address families (PPM_AF_*).
const (
	ppmAFUnix  = 1
	ppmAFInet  = 2
	ppmAFInet6 = 10
)

// Open flags (PPM_O_*): the driver re-encodes open(2) flags.
const (
	ppmORdonly    = 1 << 0
	ppmOWronly    = 1 << 1
	ppmOCreat     = 1 << 2
	ppmOAppend    = 1 << 3
	ppmODsync     = 1 << 4
	ppmOExcl      = 1 << 5
	ppmONonblock  = 1 << 6
	ppmOSync      = 1 << 7
	ppmOTrunc     = 1 << 8
	ppmODirect    = 1 << 9
	ppmODirectory = 1 << 10
	ppmOLargefile = 1 << 11
	ppmOCloexec   = 1 << 12
	ppmOTmpfile   = 1 << 13
)
