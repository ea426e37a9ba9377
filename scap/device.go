package scap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/kernelrelease"
)

// ErrNoDevice: no /dev/<name>N exists (the module is not loaded).
var ErrNoDevice = errors.New("no libs module device")

// Options tune Open.
type Options struct {
	// Name is the device's (and module's) name: /dev/<Name>0 … (default scap).
	Name string
	// Dev is the folder holding the devices (default /dev).
	Dev string
	// BufferDim is the per-CPU ring size; 0: read the module's parameter
	// g_buffer_bytes_dim from /sys/module/<Name>, else 8 MiB.
	BufferDim int
	// Arch whose syscall numbers to enable (default: this kdriver's).
	Arch string
	// MaxBackoff caps the sleep while every ring is empty (default 10ms).
	MaxBackoff time.Duration
}

// Device reads a libs kernel module's per-CPU rings. It implements
// events.Source; the events it returns are the caller's to keep. Next and
// Close may be called from different goroutines; Next is not for
// concurrent use.
type Device struct {
	API, Schema Version
	layout      Layout
	rings       []*ring
	tr          *Translator
	queue       []*events.Event
	raw         Raw
	maxWait     time.Duration

	mu     sync.RWMutex // held for reading while the mappings are used
	closed atomic.Bool
	done   chan struct{}
}

type ring struct {
	cpu  int
	f    *os.File
	info []byte // one page, read-write: the reader writes tail
	data []byte // the buffer mapped twice, read-only
	dim  uint32
	tail uint32
}

func (r *ring) u32(off int) *uint32 { return (*uint32)(unsafe.Pointer(&r.info[off])) }
func (r *ring) u64(off int) *uint64 { return (*uint64)(unsafe.Pointer(&r.info[off])) }

// Open opens every CPU's device, checks the module's API and schema
// versions, maps the rings and attaches the capture.
func Open(opts Options) (*Device, error) {
	if opts.Name == "" {
		opts.Name = "scap"
	}
	if opts.Dev == "" {
		opts.Dev = "/dev"
	}
	if opts.Arch == "" {
		opts.Arch = runtime.GOARCH
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Millisecond
	}
	cpus, err := deviceCPUs(opts.Dev, opts.Name)
	if err != nil {
		return nil, err
	}
	dim := opts.BufferDim
	if dim == 0 {
		dim = moduleBufferDim(opts.Name)
	}
	if dim <= 2*os.Getpagesize() || dim&(dim-1) != 0 || dim > 1<<31 {
		return nil, fmt.Errorf("%s ring size %d: not a power of two above two pages", opts.Name, dim)
	}
	d := &Device{maxWait: opts.MaxBackoff, done: make(chan struct{}),
		tr: NewTranslator(opts.Arch, ProcLookup)}
	d.tr.Epoch = bootEpoch()
	// The driver keys its consumer on the thread that opens the devices:
	// every open must come from the same OS thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := d.setup(opts, cpus, uint32(dim)); err != nil {
		d.release()
		return nil, fmt.Errorf("%s: %w", opts.Name, err)
	}
	return d, nil
}

// deviceCPUs lists N of every /dev/<name>N, sorted.
func deviceCPUs(dev, name string) ([]int, error) {
	ents, err := os.ReadDir(dev)
	if err != nil {
		return nil, fmt.Errorf("devices %s: %w", dev, err)
	}
	var cpus []int
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), name)
		if !ok || rest == "" {
			continue
		}
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 && strconv.Itoa(n) == rest {
			cpus = append(cpus, n)
		}
	}
	if len(cpus) == 0 {
		return nil, fmt.Errorf("%w: no %s0 … in %s (is the %s module loaded?)",
			ErrNoDevice, filepath.Join(dev, name), dev, name)
	}
	sort.Ints(cpus)
	return cpus, nil
}

// bootEpoch is when CLOCK_BOOTTIME read zero, in wall-clock ns: the driver
// stamps events with the wall clock, kdriver's format with the boot clock.
func bootEpoch() uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return uint64(time.Now().UnixNano() - ts.Nano())
}

func moduleBufferDim(name string) int {
	b, err := os.ReadFile(filepath.Join("/sys/module", name, "parameters/g_buffer_bytes_dim"))
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			return n
		}
	}
	return defaultBufferDim
}

func ioctl(f *os.File, req, arg uintptr) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), req, arg)
	if errno != 0 {
		return errno
	}
	return nil
}

func (d *Device) setup(opts Options, cpus []int, dim uint32) error {
	page := os.Getpagesize()
	for _, cpu := range cpus {
		path := filepath.Join(opts.Dev, opts.Name+strconv.Itoa(cpu))
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			if errors.Is(err, unix.ENODEV) {
				continue // an offline CPU
			}
			if errors.Is(err, unix.EBUSY) {
				return fmt.Errorf("open %s: the module's consumer limit is reached or this process holds it: %w", path, err)
			}
			return fmt.Errorf("open %s: %w", path, err)
		}
		r := &ring{cpu: cpu, f: f, dim: dim}
		d.rings = append(d.rings, r)
		if len(d.rings) == 1 {
			if err := d.versions(f); err != nil {
				return err
			}
		}
		if r.info, err = unix.Mmap(int(f.Fd()), 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
			return fmt.Errorf("map %s info: %w", path, err)
		}
		if r.data, err = unix.Mmap(int(f.Fd()), 0, 2*int(dim), unix.PROT_READ, unix.MAP_SHARED); err != nil {
			return fmt.Errorf("map %s ring of %d bytes: %w", path, dim, err)
		}
		r.tail = atomic.LoadUint32(r.u32(infoTail))
	}
	if len(d.rings) == 0 {
		return fmt.Errorf("%w: every %s device is of an offline CPU", ErrNoDevice, opts.Name)
	}
	ctl := d.rings[0].f
	for _, name := range captureSyscalls {
		nr, ok := events.SyscallNumber(kernelrelease.ArchOf(opts.Arch), name)
		if !ok {
			continue
		}
		if err := ioctl(ctl, iocEnableSyscall, uintptr(nr)); err != nil {
			return fmt.Errorf("enable syscall %s: %w", name, err)
		}
	}
	for _, tp := range captureTPs {
		if err := ioctl(ctl, iocEnableTP, tp); err != nil {
			return fmt.Errorf("enable tracepoint %d: %w", tp, err)
		}
	}
	return nil
}

func (d *Device) versions(f *os.File) error {
	var api, schema uint64
	if err := ioctl(f, iocGetAPIVersion, uintptr(unsafe.Pointer(&api))); err != nil {
		return fmt.Errorf("api version: %w", err)
	}
	if err := ioctl(f, iocGetSchema, uintptr(unsafe.Pointer(&schema))); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	d.API, d.Schema = Version(api), Version(schema)
	l, err := CheckVersions(d.API, d.Schema)
	d.layout = l
	return err
}

// release unmaps and closes everything; closing the last device detaches
// the driver's consumer and its tracepoints.
func (d *Device) release() {
	for _, r := range d.rings {
		if r.data != nil {
			_ = unix.Munmap(r.data)
		}
		if r.info != nil {
			_ = unix.Munmap(r.info)
		}
		r.f.Close()
	}
	d.rings = nil
}

// peek returns the length of the event at r's tail, 0 if the ring is empty.
func (r *ring) peek() (int, error) {
	head := atomic.LoadUint32(r.u32(infoHead))
	if head >= r.dim {
		return 0, fmt.Errorf("cpu %d: %w: head %d beyond the %d-byte ring", r.cpu, events.ErrMalformed, head, r.dim)
	}
	avail := (head - r.tail) & (r.dim - 1)
	if avail == 0 {
		return 0, nil
	}
	if avail < HeaderLen {
		return 0, fmt.Errorf("cpu %d: %w: %d bytes pending, less than a header", r.cpu, events.ErrMalformed, avail)
	}
	n := binary.LittleEndian.Uint32(r.data[r.tail+16:])
	if n < HeaderLen || n > avail {
		return 0, fmt.Errorf("cpu %d: %w: event length %d with %d bytes pending", r.cpu, events.ErrMalformed, n, avail)
	}
	return int(n), nil
}

// at is the event at the tail; the double mapping keeps it contiguous.
func (r *ring) at(n int) []byte { return r.data[r.tail : r.tail+uint32(n)] }

func (r *ring) ts() uint64 { return binary.LittleEndian.Uint64(r.data[r.tail:]) }

// advance gives n bytes back to the driver.
func (r *ring) advance(n int) {
	r.tail = (r.tail + uint32(n)) & (r.dim - 1)
	atomic.StoreUint32(r.u32(infoTail), r.tail)
}

// Next returns the next event (by timestamp across the rings) that
// translates to a kdriver event.
func (d *Device) Next(ctx context.Context) (*events.Event, error) {
	wait := 50 * time.Microsecond
	for {
		if len(d.queue) > 0 {
			ev := d.queue[0]
			d.queue[0] = nil
			d.queue = d.queue[1:]
			return ev, nil
		}
		got, err := d.next()
		if err != nil {
			return nil, err
		}
		if got {
			wait = 50 * time.Microsecond
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-d.done:
			t.Stop()
			return nil, events.ErrClosed
		case <-t.C:
		}
		wait = min(2*wait, d.maxWait)
	}
}

// next consumes the oldest event of the rings into the queue; false when
// every ring is empty.
func (d *Device) next() (bool, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed.Load() {
		return false, events.ErrClosed
	}
	var best *ring
	var bestLen int
	for _, r := range d.rings {
		n, err := r.peek()
		if err != nil {
			return false, err
		}
		if n > 0 && (best == nil || r.ts() < best.ts()) {
			best, bestLen = r, n
		}
	}
	if best == nil {
		return false, nil
	}
	_, err := DecodeRaw(&d.raw, best.at(bestLen))
	if err == nil {
		// Translate copies what it keeps: the ring space can go back now.
		d.queue = d.tr.Translate(d.queue, &d.raw, uint32(best.cpu))
	}
	clear(d.raw.Params)
	best.advance(bestLen)
	if err != nil {
		return false, fmt.Errorf("cpu %d: %w", best.cpu, err)
	}
	return true, nil
}

// Stats sums the driver's per-CPU counters: events it took, and drops for
// a full buffer or a page fault.
func (d *Device) Stats() (events.Stats, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed.Load() {
		return events.Stats{}, events.ErrClosed
	}
	var s events.Stats
	for _, r := range d.rings {
		c := events.CPUStats{
			CPU:    r.cpu,
			Events: atomic.LoadUint64(r.u64(infoEvents)),
			Drops:  atomic.LoadUint64(r.u64(infoDropsBuffer)) + atomic.LoadUint64(r.u64(d.layout.DropsPFOffset)),
		}
		s.Events += c.Events
		s.Drops += c.Drops
		s.PerCPU = append(s.PerCPU, c)
	}
	return s, nil
}

// Close detaches the capture's tracepoints, unmaps the rings and closes
// the devices.
func (d *Device) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	close(d.done)
	d.mu.Lock()
	defer d.mu.Unlock()
	var errStop error
	if len(d.rings) > 0 {
		for _, tp := range captureTPs {
			if err := ioctl(d.rings[0].f, iocDisableTP, tp); err != nil && errStop == nil {
				errStop = fmt.Errorf("disable tracepoint %d: %w", tp, err)
			}
		}
	}
	d.release()
	return errStop
}

var _ events.Source = (*Device)(nil)

// Rings is the number of CPU rings read.
func (d *Device) Rings() int { return len(d.rings) }
