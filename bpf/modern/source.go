package modern

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/kdriver/kdriver/events"
)

// Source is an events.Source over the probe's ring buffers: one reader
// goroutine per buffer, merged in arrival order (not sorted by time).
type Source struct {
	probe   *Probe
	rings   []*ring
	batches *events.Batches
	done    chan struct{}
	wg      sync.WaitGroup

	mu      sync.Mutex
	readErr error

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
	done := make(chan struct{})
	s := &Source{probe: p, batches: events.NewBatches(len(p.rings), done), done: done}
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

// read drains one ring into batches; it sleeps until the probe's wakeup
// (1/wakeupFraction of the buffer written since the last one) or
// PollInterval, which bounds the latency of a quiet stream. It returns
// once the source is closed.
func (s *Source) read(r *ring) {
	defer s.wg.Done()
	for {
		b := s.batches.Get()
		for {
			more, err := r.drain(b)
			if err != nil {
				s.mu.Lock()
				s.readErr = err
				s.mu.Unlock()
				return
			}
			if more || len(b.Ends) > 0 {
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
		if !s.batches.Put(b) {
			return
		}
	}
}

// Next returns the next event; see events.Source.
func (s *Source) Next(ctx context.Context) (*events.Event, error) {
	return s.batches.Next(ctx)
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
