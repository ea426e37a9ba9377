package events

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// Events come out of the batches in the order the readers put them, across
// batch boundaries; a malformed record costs only itself; closing done ends
// Next with ErrClosed and makes Put refuse.
func TestBatchesOrderMalformedAndClose(t *testing.T) {
	done := make(chan struct{})
	q := NewBatches(1, done)
	var enc Encoder
	rec := func(pid uint32) []byte {
		enc.Begin(uint64(pid), pid, pid, TypeCloseX, 0, "t")
		enc.Params().Int(0).Int(3)
		return bytes.Clone(enc.End())
	}
	b1 := q.Get()
	b1.Add(rec(1))
	b1.Add([]byte{1, 2, 3}) // torn
	b1.Add(rec(2))
	b2 := q.Get()
	b2.Add(rec(3))
	if !q.Put(b1) || !q.Put(b2) {
		t.Fatal("Put refused before done")
	}
	ctx := context.Background()
	var got []uint32
	var malformed int
	for len(got)+malformed < 4 {
		ev, err := q.Next(ctx)
		if errors.Is(err, ErrMalformed) {
			malformed++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.PID)
	}
	if len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 3 || malformed != 1 {
		t.Fatalf("got pids %v and %d malformed, want [1 2 3] and 1", got, malformed)
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := q.Next(tctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("empty queue: %v, want the context's deadline", err)
	}
	if b := q.Get(); len(b.Buf) != 0 || len(b.Ends) != 0 {
		t.Fatal("a recycled batch is not empty")
	}
	close(done)
	if _, err := q.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("after done: %v, want ErrClosed", err)
	}
	if q.Put(q.Get()) {
		t.Fatal("Put accepted a batch after done")
	}
}
