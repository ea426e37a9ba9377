package events

import (
	"encoding/json"
	"testing"
)

func TestFormatSockaddr(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"inet", inet4, "127.0.0.1:8080"},
		{"inet6", inet6, "[::1]:443"},
		{"unix", []byte("\x01\x00/run/s.sock\x00"), "unix:/run/s.sock"},
		{"unix-abstract", []byte("\x01\x00\x00name"), "unix:@name"},
		{"short-inet", []byte{2, 0, 1}, "family 2: 01"},
		{"netlink", []byte{16, 0, 0, 0}, "family 16: 0000"},
		{"one-byte", []byte{2}, "short: 02"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FormatSockaddr(tc.in); got != tc.want {
				t.Errorf("FormatSockaddr(%x) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestAppendJSONStrings(t *testing.T) {
	var enc Encoder
	enc.Begin(1, 2, 3, TypeOpenatX, 0, "a\"b\\c\n")
	enc.Params().Int(-1).Int(-100).Raw([]byte("bad\xffutf8\x01\x00")).Int(0).Int(0)
	ev, _, err := Decode(enc.End())
	if err != nil {
		t.Fatal(err)
	}
	js := AppendJSON(nil, ev)
	var got map[string]any
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	if got["comm"] != "a\"b\\c\n" || got["path"] != "bad\ufffdutf8\x01" || got["res"] != float64(-1) {
		t.Errorf("decoded JSON %v", got)
	}
	// An unavailable string is null.
	enc.Begin(1, 2, 3, TypeOpenatX, 0, "x")
	enc.Params().Int(-14).Int(-100).Raw(nil).Int(0).Int(0)
	ev, _, _ = Decode(enc.End())
	if err := json.Unmarshal(AppendJSON(nil, ev), &got); err != nil || got["path"] != nil {
		t.Errorf("unavailable path: %v %v", got["path"], err)
	}
}
