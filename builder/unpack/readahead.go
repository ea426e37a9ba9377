package unpack

import (
	"io"
	"sync"
)

// readAhead decompresses in its own goroutine, a few chunks ahead of the
// reader, so that decompression and writing files overlap on two CPUs.
type readAhead struct {
	chunks chan []byte
	free   chan []byte
	done   chan struct{}
	exited chan struct{}
	once   sync.Once
	cur    []byte
	buf    []byte
	err    error // set before chunks is closed
}

const (
	chunkSize = 1 << 20
	chunks    = 4
)

func newReadAhead(r io.Reader) *readAhead {
	ra := &readAhead{chunks: make(chan []byte, chunks), free: make(chan []byte, chunks+1), done: make(chan struct{}), exited: make(chan struct{})}
	for i := 0; i < chunks+1; i++ {
		ra.free <- make([]byte, chunkSize)
	}
	go func() {
		defer close(ra.exited)
		defer close(ra.chunks)
		for {
			var b []byte
			select {
			case b = <-ra.free:
			case <-ra.done:
				return
			}
			n, err := io.ReadFull(r, b)
			if n > 0 {
				select {
				case ra.chunks <- b[:n]:
				case <-ra.done:
					return
				}
			}
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			if err != nil {
				ra.err = err
				return
			}
		}
	}()
	return ra
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.buf != nil {
			ra.free <- ra.buf[:cap(ra.buf)]
			ra.buf = nil
		}
		b, ok := <-ra.chunks
		if !ok {
			return 0, ra.err
		}
		ra.cur, ra.buf = b, b
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the goroutine and waits for it (it may be inside the
// decompressor, which the caller closes next); call it whatever happened.
func (ra *readAhead) Close() {
	ra.once.Do(func() { close(ra.done) })
	<-ra.exited
}
