package legacy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf/perf"

	"github.com/kdriver/kdriver/bpf/modern"
	"github.com/kdriver/kdriver/events"
)

// Records go from the perf reader to Next in batches, so that the channel
// costs little per event.
const (
	batchRecords = 512
	batchBytes   = 256 << 10
)

type batch struct {
	buf  []byte
	ends []int
}

// Source is an events.Source over the probe's perf buffers: one reader
// goroutine for every CPU's buffer, in arrival order (not sorted by time).
type Source struct {
	probe   *Probe
	batches chan *batch
	free    chan *batch
	done    chan struct{}
	wg      sync.WaitGroup

	mu      sync.Mutex
	readErr error
	// lostRecords are the kernel's PERF_RECORD_LOST counts: the same
	// events the probe counted as drops when bpf_perf_event_output failed,
	// so they are kept apart, not added to Stats().Drops.
	lostRecords uint64

	cur *batch
	pos int
	ev  events.Event

	closeOnce sync.Once
}

var _ events.Source = (*Source)(nil)

// NewSource reads the buffers of a loaded probe; closing the source closes
// the probe.
func NewSource(p *Probe) *Source {
	s := &Source{
		probe:   p,
		batches: make(chan *batch, 4),
		free:    make(chan *batch, 8),
		done:    make(chan struct{}),
	}
	s.wg.Add(1)
	go s.read(p.reader)
	return s
}

// Probe returns the loaded probe.
func (s *Source) Probe() *Probe { return s.probe }

func (s *Source) getBatch() *batch {
	select {
	case b := <-s.free:
		b.buf, b.ends = b.buf[:0], b.ends[:0]
		return b
	default:
		return &batch{buf: make([]byte, 0, batchBytes), ends: make([]int, 0, batchRecords)}
	}
}

func (s *Source) read(rd *perf.Reader) {
	defer s.wg.Done()
	var rec perf.Record
	for {
		b := s.getBatch()
		for {
			if len(b.ends) == 0 {
				rd.SetDeadline(time.Now().Add(modern.PollInterval))
			}
			if err := rd.ReadInto(&rec); err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					if len(b.ends) > 0 {
						break
					}
					continue
				}
				if !errors.Is(err, perf.ErrClosed) {
					s.mu.Lock()
					s.readErr = err
					s.mu.Unlock()
				}
				return
			}
			if rec.LostSamples > 0 {
				s.mu.Lock()
				s.lostRecords += rec.LostSamples
				s.mu.Unlock()
				continue
			}
			b.buf = append(b.buf, rec.RawSample...)
			b.ends = append(b.ends, len(b.buf))
			if rec.Remaining == 0 || len(b.ends) == batchRecords || len(b.buf) >= batchBytes {
				break
			}
		}
		select {
		case s.batches <- b:
		case <-s.done:
			return
		}
	}
}

// Next returns the next event; see events.Source.
func (s *Source) Next(ctx context.Context) (*events.Event, error) {
	for s.cur == nil || s.pos >= len(s.cur.ends) {
		if s.cur != nil {
			select {
			case s.free <- s.cur:
			default:
			}
			s.cur = nil
		}
		select {
		case b := <-s.batches:
			s.cur, s.pos = b, 0
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.done:
			return nil, events.ErrClosed
		}
	}
	start := 0
	if s.pos > 0 {
		start = s.cur.ends[s.pos-1]
	}
	// A perf sample is padded to 8 bytes; the decoder reads hdr.len.
	rec := s.cur.buf[start:s.cur.ends[s.pos]]
	s.pos++
	if _, err := events.DecodeInto(&s.ev, rec); err != nil {
		return nil, err
	}
	return &s.ev, nil
}

// Stats returns the probe's counters: events written and dropped per CPU.
func (s *Source) Stats() (events.Stats, error) {
	st, err := s.probe.Stats()
	s.mu.Lock()
	rerr := s.readErr
	s.mu.Unlock()
	if rerr != nil {
		err = errors.Join(err, fmt.Errorf("perf reader: %w", rerr))
	}
	return st, err
}

// Close stops the reader, detaches the probe and frees its maps.
func (s *Source) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		// Closing the probe closes the perf reader, which ends read.
		err = s.probe.Close()
		s.wg.Wait()
	})
	return err
}
