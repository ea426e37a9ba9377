package kmod

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kdriver/kdriver/events"
)

// fakeRing is a ring in Go memory; put mirrors every byte into both halves
// of data, as the module's double mapping does.
func fakeRing(cpu int, size uint64) *ring {
	info := make([]byte, 4096)
	return &ring{cpu: cpu, info: info, data: make([]byte, 2*size), size: size}
}

func (r *ring) put(t *testing.T, ev []byte) {
	t.Helper()
	le := binary.LittleEndian
	head := le.Uint64(r.info[infoHead:])
	tail := le.Uint64(r.info[infoTail:])
	rec := uint64((len(ev) + recordAlign - 1) &^ (recordAlign - 1))
	if r.size-(head-tail) < rec {
		t.Fatalf("cpu %d: ring full", r.cpu)
	}
	for i, c := range ev {
		pos := (head + uint64(i)) % r.size
		r.data[pos] = c
		r.data[pos+r.size] = c
	}
	le.PutUint64(r.info[infoHead:], head+rec)
	le.PutUint64(r.info[infoEvents:], le.Uint64(r.info[infoEvents:])+1)
}

func openEvent(ts uint64, cpu uint32, path string) []byte {
	var enc events.Encoder
	enc.Begin(ts, 7, 7, events.TypeOpenatX, cpu, "test")
	enc.Params().Int(3).Int(-100).Str(path, events.MaxEventLen).Int(0).Int(0)
	return append([]byte(nil), enc.End()...)
}

func testDevice(rings ...*ring) *Device {
	return &Device{rings: rings, maxWait: time.Millisecond, done: make(chan struct{})}
}

func TestDeviceOrdersByTimestamp(t *testing.T) {
	r0, r1 := fakeRing(0, 4096), fakeRing(1, 4096)
	r0.put(t, openEvent(10, 0, "/a"))
	r0.put(t, openEvent(40, 0, "/d"))
	r1.put(t, openEvent(20, 1, "/b"))
	r1.put(t, openEvent(30, 1, "/c"))
	d := testDevice(r0, r1)
	ctx := context.Background()
	var got []string
	for range 4 {
		ev, err := d.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d%s", ev.TS, ev.Str(2)))
	}
	if fmt.Sprint(got) != "[10/a 20/b 30/c 40/d]" {
		t.Fatalf("got %v", got)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := d.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("empty rings: %v, want deadline", err)
	}
	// Every record was handed back to the module, 8-byte aligned.
	for _, r := range []*ring{r0, r1} {
		head := binary.LittleEndian.Uint64(r.info[infoHead:])
		if tail := binary.LittleEndian.Uint64(r.info[infoTail:]); tail != head {
			t.Errorf("cpu %d: tail %d, head %d", r.cpu, tail, head)
		}
	}
}

func TestDeviceWrapAround(t *testing.T) {
	r := fakeRing(0, 4096)
	d := testDevice(r)
	ctx := context.Background()
	// Records of odd sizes, many times around a 4 KiB ring, one in flight.
	for i := range 500 {
		path := fmt.Sprintf("/wrap/%0*d", i%97+1, i)
		r.put(t, openEvent(uint64(i), 0, path))
		ev, err := d.Next(ctx)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.TS != uint64(i) || ev.Str(2) != path {
			t.Fatalf("event %d: ts %d path %q, want %q", i, ev.TS, ev.Str(2), path)
		}
	}
}

// TestDeviceEventOutlivesClose: Close unmaps the rings; an event handed
// out before must still be readable (the self-test clones the events a
// reader goroutine gets, and a busy host keeps it reading until Close).
func TestDeviceEventOutlivesClose(t *testing.T) {
	const size = 4096
	mem, err := unix.Mmap(-1, 0, 4096+2*size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	r := &ring{cpu: 0, mem: mem, info: mem[:4096], data: mem[4096:], size: size}
	r.put(t, openEvent(1, 0, "/outlives/close"))
	d := testDevice(r)
	ev, err := d.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_ = d.Close() // unmaps mem; the test's device has no file to stop
	// Reading unmapped memory faults: turn that into a panic of this
	// goroutine instead of a crash of the test binary.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("event read after Close faulted (it points into the unmapped ring): %v", p)
		}
	}()
	if got := ev.Str(2); got != "/outlives/close" {
		t.Fatalf("path after Close %q", got)
	}
}

func TestDeviceMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(b []byte)
	}{
		{"length below header", func(b []byte) { binary.LittleEndian.PutUint32(b[16:], 20) }},
		{"length past head", func(b []byte) { binary.LittleEndian.PutUint32(b[16:], 4000) }},
		{"unknown type", func(b []byte) { binary.LittleEndian.PutUint16(b[20:], 999) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fakeRing(0, 4096)
			ev := openEvent(1, 0, "/x")
			tc.mod(ev)
			r.put(t, ev)
			_, err := testDevice(r).Next(context.Background())
			if !errors.Is(err, events.ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestDeviceStats(t *testing.T) {
	r0, r1 := fakeRing(0, 4096), fakeRing(1, 4096)
	le := binary.LittleEndian
	le.PutUint64(r0.info[infoEvents:], 5)
	le.PutUint64(r0.info[infoDrops:], 2)
	le.PutUint64(r1.info[infoEvents:], 7)
	le.PutUint64(r1.info[infoDrops:], 1)
	st, err := testDevice(r0, r1).Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 12 || st.Drops != 3 || len(st.PerCPU) != 2 || st.PerCPU[1].Drops != 1 {
		t.Fatalf("got %+v", st)
	}
}

// FuzzDeviceRing: whatever the ring holds (the module's memory, shared with
// every reader), the reader returns events or an error, never panics nor
// reads outside the mapping.
func FuzzDeviceRing(f *testing.F) {
	f.Add(uint64(64), openEvent(1, 0, "/seed"))
	f.Add(uint64(4096), []byte{})
	f.Add(uint64(48), make([]byte, 48))
	f.Fuzz(func(t *testing.T, head uint64, data []byte) {
		const size = 4096
		r := fakeRing(0, size)
		for i := range size {
			if len(data) > 0 {
				r.data[i] = data[i%len(data)]
				r.data[i+size] = r.data[i]
			}
		}
		binary.LittleEndian.PutUint64(r.info[infoHead:], head)
		d := testDevice(r)
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		for range 64 {
			if _, err := d.Next(ctx); err != nil {
				return
			}
		}
	})
}
