package kmod

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/kdriver/kdriver/events"
)

// ErrIncompatible: the loaded module speaks another API or schema version.
var ErrIncompatible = errors.New("module version incompatible with this kdriver")

// DeviceOptions tunes Open.
type DeviceOptions struct {
	// Path of the device; default /dev/kdriver.
	Path string
	// Syscalls to capture, by number of the target arch; nil: all.
	Syscalls []int
	// MaxBackoff caps the sleep when every ring is empty; default 10ms.
	MaxBackoff time.Duration
}

// Device reads events from the module's per-CPU rings. It implements
// events.Source. Next and Close may be called from different goroutines;
// Next is not for concurrent use.
type Device struct {
	f       *os.File
	geo     kdGeometry
	rings   []*ring
	maxWait time.Duration

	mu     sync.RWMutex // held for reading while the mappings are used
	closed atomic.Bool
	done   chan struct{}
	// The last event handed out, copied out of its ring: Close unmaps the
	// rings, and an event pointing into them would fault if read after.
	buf []byte
	ev  events.Event
}

type ring struct {
	cpu  int
	mem  []byte // info page + data twice
	info []byte
	data []byte
	size uint64
	tail uint64
}

func (r *ring) u64(off int) *uint64 {
	return (*uint64)(unsafe.Pointer(&r.info[off]))
}

func (r *ring) head() uint64 { return atomic.LoadUint64(r.u64(infoHead)) }

// Open opens the device, checks the module's API and schema versions,
// maps every CPU's ring and starts the capture.
func Open(opts DeviceOptions) (*Device, error) {
	if opts.Path == "" {
		opts.Path = filepath.Join("/dev", DeviceName)
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Millisecond
	}
	f, err := os.OpenFile(opts.Path, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, unix.EBUSY) {
			return nil, fmt.Errorf("open %s: another reader holds the device: %w", opts.Path, err)
		}
		return nil, fmt.Errorf("open %s: %w (is the kdriver module loaded?)", opts.Path, err)
	}
	d := &Device{f: f, maxWait: opts.MaxBackoff, done: make(chan struct{})}
	if err := d.setup(opts); err != nil {
		d.unmap()
		f.Close()
		return nil, fmt.Errorf("device %s: %w", opts.Path, err)
	}
	return d, nil
}

func (d *Device) ioctl(req uintptr, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, d.f.Fd(), req, uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

func (d *Device) setup(opts DeviceOptions) error {
	var v kdVersion
	if err := d.ioctl(iocAPIVersion, unsafe.Pointer(&v)); err != nil {
		return fmt.Errorf("api version: %w", err)
	}
	if v.Major != events.APIVersionMajor {
		return fmt.Errorf("%w: module API %d.%d, kdriver reads %d.x: install the module of this kdriver version",
			ErrIncompatible, v.Major, v.Minor, events.APIVersionMajor)
	}
	var schema uint32
	if err := d.ioctl(iocSchemaVersion, unsafe.Pointer(&schema)); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if schema != events.SchemaVersion {
		return fmt.Errorf("%w: module schema %d, kdriver reads %d", ErrIncompatible, schema, events.SchemaVersion)
	}
	if err := d.ioctl(iocGeometry, unsafe.Pointer(&d.geo)); err != nil {
		return fmt.Errorf("geometry: %w", err)
	}
	g := d.geo
	if g.BufSize == 0 || g.BufSize&(g.BufSize-1) != 0 || g.Span != uint64(g.InfoSize)+2*g.BufSize {
		return fmt.Errorf("geometry: buffer %d, info %d, span %d do not fit", g.BufSize, g.InfoSize, g.Span)
	}
	for cpu := 0; cpu < int(g.NCPUs) && cpu < 64*len(g.Possible); cpu++ {
		if g.Possible[cpu/64]&(1<<(cpu%64)) == 0 {
			continue
		}
		mem, err := unix.Mmap(int(d.f.Fd()), int64(cpu)*int64(g.Span), int(g.Span),
			unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return fmt.Errorf("map cpu %d: %w", cpu, err)
		}
		r := &ring{cpu: cpu, mem: mem, info: mem[:g.InfoSize], data: mem[g.InfoSize:], size: g.BufSize}
		d.rings = append(d.rings, r)
	}
	// Always set the mask: the module keeps the last reader's.
	var m kdMask
	if opts.Syscalls == nil {
		for i := range m.Bits {
			m.Bits[i] = ^uint64(0)
		}
	}
	for _, nr := range opts.Syscalls {
		if nr < 0 || nr >= syscallMaskBits {
			return fmt.Errorf("syscall %d out of range [0, %d)", nr, syscallMaskBits)
		}
		m.Bits[nr/64] |= 1 << (nr % 64)
	}
	if err := d.ioctl(iocSetMask, unsafe.Pointer(&m)); err != nil {
		return fmt.Errorf("syscall mask: %w", err)
	}
	// START resets the rings; then the reader's tail is 0.
	if err := d.ioctl(iocStart, nil); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	return nil
}

func (d *Device) unmap() {
	for _, r := range d.rings {
		_ = unix.Munmap(r.mem)
	}
	d.rings = nil
}

// peek returns the length of the event at r's tail, 0 if the ring is empty.
func (r *ring) peek() (int, error) {
	avail := r.head() - r.tail
	if avail == 0 {
		return 0, nil
	}
	if avail > r.size || avail < events.HeaderLen {
		return 0, fmt.Errorf("cpu %d: %w: head %d, tail %d, ring %d bytes", r.cpu, events.ErrMalformed, r.head(), r.tail, r.size)
	}
	off := r.tail & (r.size - 1)
	n := binary.LittleEndian.Uint32(r.data[off+16:])
	if n < events.HeaderLen || n > events.MaxEventLen || uint64(n) > avail {
		return 0, fmt.Errorf("cpu %d: %w: event length %d with %d bytes available", r.cpu, events.ErrMalformed, n, avail)
	}
	return int(n), nil
}

func (r *ring) at() []byte {
	off := r.tail & (r.size - 1)
	return r.data[off:]
}

func (r *ring) ts() uint64 { return binary.LittleEndian.Uint64(r.at()) }

// release gives the space of the event at the tail back to the module.
func (r *ring) release(n int) {
	r.tail += uint64((n + recordAlign - 1) &^ (recordAlign - 1))
	atomic.StoreUint64(r.u64(infoTail), r.tail)
}

// Next returns the oldest event at the head of the rings (by timestamp),
// sleeping with a growing backoff while all of them are empty. The event is
// a copy owned by the Device: valid until the next call to Next, and still
// readable after Close (it never points into the mapped rings).
func (d *Device) Next(ctx context.Context) (*events.Event, error) {
	wait := 50 * time.Microsecond
	for {
		ev, err := d.next()
		if ev != nil || err != nil {
			return ev, err
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

func (d *Device) next() (*events.Event, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed.Load() {
		return nil, events.ErrClosed
	}
	var best *ring
	var bestLen int
	for _, r := range d.rings {
		n, err := r.peek()
		if err != nil {
			return nil, err
		}
		if n > 0 && (best == nil || r.ts() < best.ts()) {
			best, bestLen = r, n
		}
	}
	if best == nil {
		return nil, nil
	}
	// Copy, then give the space back at once: the module may overwrite it
	// from then on, and Close unmaps it.
	d.buf = append(d.buf[:0], best.at()[:bestLen]...)
	best.release(bestLen)
	if _, err := events.DecodeInto(&d.ev, d.buf); err != nil {
		return nil, fmt.Errorf("cpu %d: %w", best.cpu, err)
	}
	return &d.ev, nil
}

// Stats sums the module's per-CPU counters.
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
			Drops:  atomic.LoadUint64(r.u64(infoDrops)),
		}
		s.Events += c.Events
		s.Drops += c.Drops
		s.PerCPU = append(s.PerCPU, c)
	}
	return s, nil
}

// Close stops the capture, unmaps the rings and closes the device.
func (d *Device) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	close(d.done)
	d.mu.Lock()
	defer d.mu.Unlock()
	errStop := d.ioctl(iocStop, nil)
	d.unmap()
	errClose := d.f.Close()
	if errStop != nil {
		return fmt.Errorf("stop: %w", errStop)
	}
	return errClose
}

var _ events.Source = (*Device)(nil)
