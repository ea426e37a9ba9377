package modern

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/kdriver/kdriver/events"
)

// ring reads one BPF ring buffer map through its mmap'ed pages, as
// cilium/ebpf's ringbuf.Reader does, with two differences that matter per
// event: records are copied straight into a batch, and the consumer
// position is published once per drained batch instead of once per record.
// The probe reads that position in every bpf_ringbuf_reserve, so each store
// to it moves a cache line from the reader's core back to the producer's.
type ring struct {
	epfd    int
	cons    []byte // consumer page, read-write
	prod    []byte // producer page, then the data pages mapped twice
	data    []byte
	mask    uint64
	consPos *uint64
	prodPos *uint64
	events  [1]unix.EpollEvent
}

// Record header flags (kernel's BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT).
const (
	ringHdrLen     = 8
	ringBusyBit    = 1 << 31
	ringDiscardBit = 1 << 30
)

var errRingCorrupt = errors.New("ring buffer positions out of range")

func newRing(m *ebpf.Map) (*ring, error) {
	size := int(m.MaxEntries())
	if size <= 0 || size&(size-1) != 0 {
		return nil, fmt.Errorf("ring buffer size %d is not a power of two", size)
	}
	page := os.Getpagesize()
	r := &ring{epfd: -1, mask: uint64(size - 1)}
	var err error
	if r.cons, err = unix.Mmap(m.FD(), 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return nil, fmt.Errorf("mmap consumer page: %w", err)
	}
	if r.prod, err = unix.Mmap(m.FD(), int64(page), page+2*size, unix.PROT_READ, unix.MAP_SHARED); err != nil {
		r.close()
		return nil, fmt.Errorf("mmap data pages: %w", err)
	}
	r.data = r.prod[page:]
	r.consPos = (*uint64)(unsafe.Pointer(&r.cons[0]))
	r.prodPos = (*uint64)(unsafe.Pointer(&r.prod[0]))
	if r.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		r.close()
		return nil, fmt.Errorf("epoll: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(m.FD())}
	if err := unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, m.FD(), &ev); err != nil {
		r.close()
		return nil, fmt.Errorf("epoll add: %w", err)
	}
	return r, nil
}

// wait blocks until the probe asks for a wakeup or d has passed.
func (r *ring) wait(d time.Duration) error {
	for {
		_, err := unix.EpollWait(r.epfd, r.events[:], int(d.Milliseconds()))
		if err != unix.EINTR {
			return err
		}
	}
}

// drain appends committed records to b until the ring is empty or b is
// full, then publishes the new consumer position. It reports whether
// records are left.
func (r *ring) drain(b *events.Batch) (more bool, err error) {
	cons := atomic.LoadUint64(r.consPos)
	start := cons
	defer func() {
		if cons != start {
			atomic.StoreUint64(r.consPos, cons)
		}
	}()
	prod := atomic.LoadUint64(r.prodPos)
	for cons < prod {
		if prod-cons < ringHdrLen || prod-cons > r.mask+1 {
			return false, errRingCorrupt
		}
		// The atomic load of the length orders the record's bytes after
		// the kernel's commit (an xchg that clears the busy bit).
		hdr := atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.data[cons&r.mask])))
		if hdr&ringBusyBit != 0 {
			return false, nil // not committed yet: read it next time
		}
		n := uint64(hdr &^ (ringBusyBit | ringDiscardBit))
		rec := (ringHdrLen + n + 7) &^ 7
		if rec > prod-cons {
			return false, errRingCorrupt
		}
		if hdr&ringDiscardBit == 0 {
			if len(b.Ends) == events.BatchRecords || len(b.Ends) > 0 && len(b.Buf)+int(n) > cap(b.Buf) {
				return true, nil
			}
			// The data pages are mapped twice in a row, so a record that
			// wraps around is contiguous here.
			off := (cons + ringHdrLen) & r.mask
			b.Add(r.data[off : off+n])
		}
		cons += rec
	}
	return false, nil
}

func (r *ring) close() error {
	var errs []error
	if r.epfd >= 0 {
		errs = append(errs, unix.Close(r.epfd))
		r.epfd = -1
	}
	if r.prod != nil {
		errs = append(errs, unix.Munmap(r.prod))
		r.prod, r.data = nil, nil
	}
	if r.cons != nil {
		errs = append(errs, unix.Munmap(r.cons))
		r.cons = nil
	}
	return errors.Join(errs...)
}
