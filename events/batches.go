package events

import "context"

// Readers hand records to Next in batches, so that the channel between a
// reader goroutine and the consumer costs little per event.
const (
	BatchRecords = 512
	BatchBytes   = 256 << 10
)

// Batch is a run of raw records, back to back in Buf; Ends[i] is where
// record i ends.
type Batch struct {
	Buf  []byte
	Ends []int
}

// Add appends one record.
func (b *Batch) Add(rec []byte) {
	b.Buf = append(b.Buf, rec...)
	b.Ends = append(b.Ends, len(b.Buf))
}

// Full says the batch should be handed over before another record.
func (b *Batch) Full() bool {
	return len(b.Ends) >= BatchRecords || len(b.Buf) >= BatchBytes
}

// Batches carries batches from a driver's reader goroutines to the one
// goroutine calling Next, and recycles them. The drivers whose buffers are
// read by goroutines (the eBPF probes) share it; it decodes in Next, so a
// malformed record costs that one event, not the batch.
type Batches struct {
	ch   chan *Batch
	free chan *Batch
	done <-chan struct{}

	cur *Batch
	pos int
	ev  Event
}

// NewBatches makes a queue for the given number of reader goroutines; done
// closing ends Next with ErrClosed and Put with false.
func NewBatches(readers int, done <-chan struct{}) *Batches {
	return &Batches{
		ch:   make(chan *Batch, 4*readers),
		free: make(chan *Batch, 8*readers),
		done: done,
	}
}

// Get returns an empty batch for a reader to fill.
func (q *Batches) Get() *Batch {
	select {
	case b := <-q.free:
		b.Buf, b.Ends = b.Buf[:0], b.Ends[:0]
		return b
	default:
		return &Batch{Buf: make([]byte, 0, BatchBytes), Ends: make([]int, 0, BatchRecords)}
	}
}

// Put hands a filled batch to Next, waiting while the consumer is behind;
// it returns false (and the reader should return) once done is closed.
func (q *Batches) Put(b *Batch) bool {
	select {
	case <-q.done: // first: a select with room in ch picks at random
		return false
	default:
	}
	select {
	case q.ch <- b:
		return true
	case <-q.done:
		return false
	}
}

// Next decodes the next record; see Source. The event is valid until the
// next call.
func (q *Batches) Next(ctx context.Context) (*Event, error) {
	for q.cur == nil || q.pos >= len(q.cur.Ends) {
		if q.cur != nil {
			select {
			case q.free <- q.cur:
			default:
			}
			q.cur = nil
		}
		select {
		case b := <-q.ch:
			q.cur, q.pos = b, 0
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-q.done:
			return nil, ErrClosed
		}
	}
	start := 0
	if q.pos > 0 {
		start = q.cur.Ends[q.pos-1]
	}
	// A record may be padded (perf samples to 8 bytes): the decoder reads
	// the header's length.
	rec := q.cur.Buf[start:q.cur.Ends[q.pos]]
	q.pos++
	if _, err := DecodeInto(&q.ev, rec); err != nil {
		return nil, err
	}
	return &q.ev, nil
}
