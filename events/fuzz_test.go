package events

import (
	"encoding/json"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic nor
// read past its input or the event's length, and whatever it accepts must
// render as valid JSON and text.
func FuzzDecode(f *testing.F) {
	for _, g := range goldenEvents {
		f.Add(encodeGolden(g))
	}
	f.Add([]byte{})
	f.Add(make([]byte, HeaderLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, n, err := Decode(b)
		if err != nil {
			if n != 0 || ev != nil {
				t.Fatalf("error %v with n=%d ev=%v", err, n, ev)
			}
			return
		}
		if n < HeaderLen || n > len(b) || n > MaxEventLen {
			t.Fatalf("n=%d for %d bytes", n, len(b))
		}
		info, ok := ev.Type.Lookup()
		if !ok || len(ev.Params) != len(info.Params) {
			t.Fatalf("accepted type %d with %d params", ev.Type, len(ev.Params))
		}
		if js := AppendJSON(nil, ev); !json.Valid(js) {
			t.Fatalf("invalid JSON %s", js)
		}
		_ = AppendText(nil, ev)
		c := ev.Clone()
		for i := range c.Params {
			if string(c.Params[i]) != string(ev.Params[i]) {
				t.Fatalf("clone param %d differs", i)
			}
		}
	})
}

// FuzzFormatSockaddr: any bytes render without panicking, as valid UTF-8
// JSON once quoted.
func FuzzFormatSockaddr(f *testing.F) {
	f.Add(inet4)
	f.Add(inet6)
	f.Add([]byte("\x01\x00/run/s.sock\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := FormatSockaddr(b)
		if !json.Valid(appendJSONString(nil, s)) {
			t.Fatalf("%x renders as %q, not valid JSON once quoted", b, s)
		}
	})
}
