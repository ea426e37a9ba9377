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

// Source is an events.Source over the probe's perf buffers: one reader
// goroutine for every CPU's buffer, in arrival order (not sorted by time).
type Source struct {
	probe   *Probe
	batches *events.Batches
	done    chan struct{}
	wg      sync.WaitGroup

	mu      sync.Mutex
	readErr error
	// lostRecords are the kernel's PERF_RECORD_LOST counts: the same
	// events the probe counted as drops when bpf_perf_event_output failed,
	// so they are kept apart, not added to Stats().Drops.
	lostRecords uint64

	closeOnce sync.Once
}

var _ events.Source = (*Source)(nil)

// NewSource reads the buffers of a loaded probe; closing the source closes
// the probe.
func NewSource(p *Probe) *Source {
	done := make(chan struct{})
	s := &Source{probe: p, batches: events.NewBatches(1, done), done: done}
	s.wg.Add(1)
	go s.read(p.reader)
	return s
}

// Probe returns the loaded probe.
func (s *Source) Probe() *Probe { return s.probe }

func (s *Source) read(rd *perf.Reader) {
	defer s.wg.Done()
	var rec perf.Record
	for {
		b := s.batches.Get()
		for {
			if len(b.Ends) == 0 {
				rd.SetDeadline(time.Now().Add(modern.PollInterval))
			}
			if err := rd.ReadInto(&rec); err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					if len(b.Ends) > 0 {
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
			b.Add(rec.RawSample)
			if rec.Remaining == 0 || b.Full() {
				break
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
