package modern

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/kdriver/kdriver/events"
)

// Records are handed from the ring buffer readers to Next in batches, so
// that the channel costs little per event.
const (
	batchRecords = 512
	batchBytes   = 256 << 10
)

type batch struct {
	buf  []byte
	ends []int
}

// Source is an events.Source over the probe's ring buffers: one reader
// goroutine per buffer, merged in arrival order (not sorted by time).
type Source struct {
	probe   *Probe
	rings   []*ring
	batches chan *batch
	free    chan *batch
	done    chan struct{}
	wg      sync.WaitGroup

	mu      sync.Mutex
	readErr error

	cur *batch
	pos int
	ev  events.Event

	closeOnce sync.Once
}

var _ events.Source = (*Source)(nil)

// Open loads and attaches the probe and starts reading its buffers.
func Open(opts Options) (*Source, error) {
	p, err := Load(opts)
	if err != nil {
		return nil, err
	}
	return NewSource(p)
}

// NewSource reads the buffers of a loaded probe; closing the source closes
// the probe.
func NewSource(p *Probe) (*Source, error) {
	s := &Source{
		probe:   p,
		batches: make(chan *batch, 4*len(p.rings)),
		free:    make(chan *batch, 8*len(p.rings)),
		done:    make(chan struct{}),
	}
	for i, m := range p.rings {
		r, err := newRing(m)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("ring buffer %d reader: %w", i, err)
		}
		s.rings = append(s.rings, r)
	}
	for _, r := range s.rings {
		s.wg.Add(1)
		go s.read(r)
	}
	return s, nil
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

// read drains one ring into batches; it sleeps until the probe's wakeup
// (a buffer 1/wakeupFraction full) or PollInterval, which bounds the
// latency of a quiet stream. It returns once the source is closed.
func (s *Source) read(r *ring) {
	defer s.wg.Done()
	for {
		b := s.getBatch()
		for {
			more, err := r.drain(b)
			if err != nil {
				s.mu.Lock()
				s.readErr = err
				s.mu.Unlock()
				return
			}
			if more || len(b.ends) > 0 {
				break
			}
			select {
			case <-s.done:
				return
			default:
			}
			if err := r.wait(PollInterval); err != nil {
				s.mu.Lock()
				s.readErr = fmt.Errorf("epoll wait: %w", err)
				s.mu.Unlock()
				return
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
		err = errors.Join(err, fmt.Errorf("ring buffer reader: %w", rerr))
	}
	return st, err
}

// Close stops the readers, detaches the probe and frees its maps.
func (s *Source) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		// The readers see done within PollInterval; the rings are
		// unmapped only once they have returned.
		close(s.done)
		s.wg.Wait()
		for _, r := range s.rings {
			errs = append(errs, r.close())
		}
		errs = append(errs, s.probe.Close())
	})
	return errors.Join(errs...)
}
