package scap

import (
	"encoding/binary"
	"testing"

	"github.com/kdriver/kdriver/events"
)

// FuzzDecodeRaw: any bytes either decode to an event whose parameters
// exactly fill its own length within the input, or are refused; and what
// the translator makes of an accepted event is a valid kdriver event of
// its type, owning its bytes.
func FuzzDecodeRaw(f *testing.F) {
	for _, name := range goldenNames(f) {
		f.Add(golden(f, name))
	}
	f.Add([]byte{})
	f.Add(make([]byte, HeaderLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Raw
		n, err := DecodeRaw(&r, b)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with n=%d", err, n)
			}
			return
		}
		if n < HeaderLen || n > len(b) || n != int(binary.LittleEndian.Uint32(b[16:])) {
			t.Fatalf("n=%d for %d bytes", n, len(b))
		}
		sum := HeaderLen
		w := 2
		if largePayload(r.Code) {
			w = 4
		}
		for _, p := range r.Params {
			sum += w + len(p)
		}
		if sum != n || len(r.Params) != int(binary.LittleEndian.Uint32(b[22:])) {
			t.Fatalf("params add up to %d of %d", sum, n)
		}
		evs := NewTranslator("x86_64", nil).Translate(nil, &r, 0)
		snapshot := append([]byte(nil), b...)
		for i := range b {
			b[i] ^= 0xff
		}
		for _, ev := range evs {
			info, ok := ev.Type.Lookup()
			if !ok || len(ev.Params) != len(info.Params) {
				t.Fatalf("%s: %d params", ev.Type, len(ev.Params))
			}
			for i, p := range info.Params {
				v := ev.Params[i]
				switch p.Kind {
				case events.KindS64, events.KindU64:
					if len(v) != 8 {
						t.Fatalf("%s.%s: %d bytes", ev.Type, p.Name, len(v))
					}
				case events.KindStr, events.KindArgs:
					if len(v) == 0 || v[len(v)-1] != 0 {
						t.Fatalf("%s.%s: not NUL-terminated", ev.Type, p.Name)
					}
				}
			}
			_ = events.AppendJSON(nil, ev)
		}
		// Translate again from the restored bytes: same events, so the
		// first ones did not alias the input.
		copy(b, snapshot)
		var r2 Raw
		if _, err := DecodeRaw(&r2, b); err != nil {
			t.Fatal(err)
		}
		again := NewTranslator("x86_64", nil).Translate(nil, &r2, 0)
		for i := range evs {
			if string(events.AppendJSON(nil, evs[i])) != string(events.AppendJSON(nil, again[i])) {
				t.Fatalf("event %d changed with its input: it aliases it", i)
			}
		}
	})
}
