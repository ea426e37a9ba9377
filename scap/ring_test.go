package scap

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/kdriver/kdriver/events"
)

// fakeRing is a ring in plain memory laid out as the driver maps it: the
// info page, and the buffer twice so that an event across the end stays
// contiguous.
type fakeRing struct {
	*ring
	buf []byte
}

func newFakeRing(cpu int, dim uint32) *fakeRing {
	data := make([]byte, 2*dim)
	return &fakeRing{ring: &ring{cpu: cpu, info: make([]byte, 4096), data: data, dim: dim}}
}

// write appends ev at head as the driver does (wrapping into the mirror).
func (f *fakeRing) write(ev []byte) {
	head := binary.LittleEndian.Uint32(f.info[infoHead:])
	for i, c := range ev {
		p := (head + uint32(i)) % f.dim
		f.data[p] = c
		f.data[p+f.dim] = c
	}
	binary.LittleEndian.PutUint32(f.info[infoHead:], (head+uint32(len(ev)))%f.dim)
}

func withTS(b []byte, ts uint64) []byte {
	c := append([]byte(nil), b...)
	binary.LittleEndian.PutUint64(c, ts)
	return c
}

func fakeDevice(rings ...*fakeRing) *Device {
	d := &Device{done: make(chan struct{}), maxWait: time.Millisecond, tr: NewTranslator("x86_64", noLookup),
		layout: Layout{DropsPFOffset: 104}}
	for _, r := range rings {
		d.rings = append(d.rings, r.ring)
	}
	return d
}

func TestRingMergeAndWrap(t *testing.T) {
	open := golden(t, "openat_x.hex") // 93 bytes
	a, b := newFakeRing(0, 256), newFakeRing(1, 256)
	d := fakeDevice(a, b)
	ctx := context.Background()
	// Three rounds of two events on ring a push it across its end.
	for round := range 3 {
		base := uint64(round * 10)
		a.write(withTS(open, base+3))
		b.write(withTS(open, base+1))
		var got []uint64
		for range 2 {
			ev, err := d.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ev.TS)
		}
		if got[0] != base+1 || got[1] != base+3 {
			t.Fatalf("round %d: timestamps %v, want oldest first", round, got)
		}
		if tail := binary.LittleEndian.Uint32(a.info[infoTail:]); tail != a.tail || a.tail != uint32((round+1)*len(open))%256 {
			t.Fatalf("round %d: tail %d (info %d)", round, a.tail, tail)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
	defer cancel()
	if _, err := d.Next(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("empty rings: %v", err)
	}
}

// Lengths the driver cannot have written are refused, never followed.
func TestRingCorrupt(t *testing.T) {
	for name, mutate := range map[string]func(f *fakeRing){
		"head beyond ring": func(f *fakeRing) { binary.LittleEndian.PutUint32(f.info[infoHead:], 1000) },
		"short pending":    func(f *fakeRing) { binary.LittleEndian.PutUint32(f.info[infoHead:], 10) },
		"length too long": func(f *fakeRing) {
			f.write(golden(t, "openat_x.hex"))
			binary.LittleEndian.PutUint32(f.data[16:], 200)
		},
		"length too short": func(f *fakeRing) {
			f.write(golden(t, "openat_x.hex"))
			binary.LittleEndian.PutUint32(f.data[16:], 3)
		},
	} {
		f := newFakeRing(0, 256)
		mutate(f)
		if _, err := fakeDevice(f).Next(context.Background()); !errors.Is(err, events.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func TestStatsAndClose(t *testing.T) {
	a := newFakeRing(0, 256)
	le := binary.LittleEndian
	le.PutUint64(a.info[infoEvents:], 10)
	le.PutUint64(a.info[infoDropsBuffer:], 2)
	le.PutUint64(a.info[104:], 1) // n_drops_pf, schema 4
	d := fakeDevice(a)
	s, err := d.Stats()
	if err != nil || s.Events != 10 || s.Drops != 3 || len(s.PerCPU) != 1 {
		t.Fatalf("%+v %v", s, err)
	}
	d.closed.Store(true)
	close(d.done)
	if _, err := d.Next(context.Background()); !errors.Is(err, events.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestOpenWithoutDevices(t *testing.T) {
	_, err := Open(Options{Name: "scap", Dev: t.TempDir()})
	if !errors.Is(err, ErrNoDevice) {
		t.Fatalf("%v, want ErrNoDevice", err)
	}
}
