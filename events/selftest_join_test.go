package events_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kdriver/kdriver/events"
)

// busySource is a driver on a busy host: Next always has an event waiting
// and, as kmod.Device does, returns it without looking at ctx. The event
// points into buf, which Close poisons as unmapping a ring would; misuse
// records a Next during or after Close.
type busySource struct {
	raw    []byte
	buf    []byte
	ev     events.Event
	inNext atomic.Int32
	closed atomic.Bool
	mu     sync.Mutex
	misuse []string
}

func newBusySource() *busySource {
	var enc events.Encoder
	enc.Begin(1, 1, 1, events.TypeCloseX, 0, "busy")
	enc.Params().Int(0).Int(3)
	raw := append([]byte(nil), enc.End()...)
	return &busySource{raw: raw, buf: make([]byte, len(raw))}
}

func (s *busySource) record(what string) {
	s.mu.Lock()
	s.misuse = append(s.misuse, what)
	s.mu.Unlock()
}

func (s *busySource) Next(ctx context.Context) (*events.Event, error) {
	s.inNext.Add(1)
	defer s.inNext.Add(-1)
	if s.closed.Load() {
		s.record("Next after Close")
		return nil, events.ErrClosed
	}
	copy(s.buf, s.raw)
	if _, err := events.DecodeInto(&s.ev, s.buf); err != nil {
		return nil, err
	}
	return &s.ev, nil
}

func (s *busySource) Stats() (events.Stats, error) { return events.Stats{}, nil }

func (s *busySource) Close() error {
	s.closed.Store(true)
	if s.inNext.Load() != 0 {
		s.record("Close during Next")
	}
	for i := range s.buf {
		s.buf[i] = 0xff
	}
	return nil
}

// TestSelfTestJoinsReader: SelfTest's reader goroutine is done with the
// source when SelfTest returns, so that closing the source next (as
// loader.Verify does) never frees memory the reader still uses. Run with
// -race, the poisoning in Close also shows as a data race.
func TestSelfTestJoinsReader(t *testing.T) {
	src := newBusySource()
	_, err := events.SelfTest(context.Background(), src, events.SelfTestOptions{
		Command: childCommand(42), Timeout: 300 * time.Millisecond, TempDir: t.TempDir(),
	})
	if !errors.Is(err, events.ErrVerify) {
		t.Fatalf("self-test of a source without the child's events: %v, want ErrVerify", err)
	}
	src.Close()
	time.Sleep(100 * time.Millisecond) // a reader left running calls Next again
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(src.misuse) > 0 {
		t.Fatalf("the self-test's reader outlived SelfTest: %v", src.misuse[0])
	}
}
