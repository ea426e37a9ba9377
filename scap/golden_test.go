package scap

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/events"
)

// The golden vectors in testdata/golden are annotated hex, one field a
// line; each file names the header or event-table entry of the Debian
// falcosecurity-scap-dkms packages (0.20.0, 0.23.2) its layout follows.
func golden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	var h strings.Builder
	for line := range strings.Lines(string(b)) {
		line, _, _ = strings.Cut(line, "#")
		h.WriteString(strings.TrimSpace(line))
	}
	out, err := hex.DecodeString(h.String())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

func goldenNames(t testing.TB) []string {
	names, err := filepath.Glob(filepath.Join("testdata", "golden", "*.hex"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no golden vectors: %v", err)
	}
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	return names
}

func TestGoldenDecode(t *testing.T) {
	for _, name := range goldenNames(t) {
		b := golden(t, name)
		var r Raw
		n, err := DecodeRaw(&r, b)
		if err != nil || n != len(b) {
			t.Errorf("%s: n=%d of %d, err %v", name, n, len(b), err)
		}
		// Every truncation is refused, never read past.
		for cut := range len(b) {
			if _, err := DecodeRaw(&r, b[:cut]); err == nil {
				t.Errorf("%s: accepted %d of %d bytes", name, cut, len(b))
			}
		}
	}
}

// translate runs the named vectors through one translator, in order.
func translate(t *testing.T, tr *Translator, names ...string) []*events.Event {
	t.Helper()
	var out []*events.Event
	for _, name := range names {
		var r Raw
		if _, err := DecodeRaw(&r, golden(t, name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = tr.Translate(out, &r, 1)
	}
	return out
}

func noLookup(uint64) (ThreadInfo, bool) { return ThreadInfo{}, false }

func TestTranslateSelfTestEvents(t *testing.T) {
	const nonce = "/tmp/kdriver-selftest-1"
	for _, schema := range []string{"schema3", "schema4"} {
		t.Run(schema, func(t *testing.T) {
			tr := NewTranslator("x86_64", noLookup)
			got := translate(t, tr, "execve_e.hex", "execve_x_"+schema+".hex", "clone_x_child.hex",
				"openat_x.hex", "connect_e.hex", "connect_x_"+schema+".hex", "procexit_e.hex")
			want := []struct {
				typ  events.Type
				tid  uint32
				pid  uint32
				comm string
			}{
				{events.TypeExecveE, 4242, 4242, "kdriver"},
				{events.TypeExecveX, 4242, 4242, "kdriver"},
				{events.TypeOpenatX, 4243, 4242, "kdriver"},
				{events.TypeConnectX, 4242, 4242, "kdriver"},
				{events.TypeProcExit, 4242, 4242, "kdriver"},
			}
			if len(got) != len(want) {
				t.Fatalf("%d events, want %d: %v", len(got), len(want), got)
			}
			for i, w := range want {
				ev := got[i]
				if ev.Type != w.typ || ev.TID != w.tid || ev.PID != w.pid || ev.Comm != w.comm || ev.CPU != 1 {
					t.Errorf("event %d: %s tid %d pid %d comm %q cpu %d, want %s %d %d %q", i,
						ev.Type, ev.TID, ev.PID, ev.Comm, ev.CPU, w.typ, w.tid, w.pid, w.comm)
				}
				// What the translator hands out must be a valid kdriver event.
				var enc events.Encoder
				info, _ := ev.Type.Lookup()
				enc.Begin(ev.TS, ev.TID, ev.PID, ev.Type, ev.CPU, ev.Comm)
				pb := enc.Params()
				for _, p := range ev.Params {
					pb.Raw(p)
				}
				if len(ev.Params) != len(info.Params) {
					t.Fatalf("%s: %d params, want %d", ev.Type, len(ev.Params), len(info.Params))
				}
				if _, _, err := events.Decode(enc.End()); err != nil {
					t.Errorf("%s does not decode as a kdriver event: %v", ev.Type, err)
				}
			}
			if f := got[0].Str(0); f != "/usr/bin/kdriver" {
				t.Errorf("execve_e filename %q", f)
			}
			if a := got[0].Args(1); len(a) != 5 || a[0] != "kdriver" || a[3] != nonce {
				t.Errorf("execve_e argv %q", a)
			}
			if got[1].Int(0) != 0 {
				t.Errorf("execve_x res %d", got[1].Int(0))
			}
			open := got[2]
			if open.Int(0) != 3 || open.Int(1) != -100 || open.Str(2) != nonce || open.Int(3) != 0o2000000 {
				t.Errorf("openat_x %s", events.AppendText(nil, open))
			}
			c := got[3]
			if c.Int(0) != -111 || c.Int(1) != 5 || events.FormatSockaddr(c.Params[2]) != "127.0.0.1:40000" {
				t.Errorf("connect_x %s", events.AppendText(nil, c))
			}
			if p := got[4]; p.Int(0) != 42<<8 || p.Int(1) != 42 || p.Int(2) != 0 {
				t.Errorf("procexit %s", events.AppendText(nil, p))
			}
		})
	}
}

func TestTranslateConnectedTuple(t *testing.T) {
	got := translate(t, NewTranslator("x86_64", noLookup), "connect_x_tuple.hex")
	if len(got) != 1 || events.FormatSockaddr(got[0].Params[2]) != "10.0.0.2:443" || got[0].Int(1) != 6 {
		t.Fatalf("connected connect_x: %v", got)
	}
}

// A thread the driver never told about is looked up once, then cached;
// without a lookup its process id is its own id.
func TestTranslateLookup(t *testing.T) {
	calls := 0
	tr := NewTranslator("x86_64", func(tid uint64) (ThreadInfo, bool) {
		calls++
		return ThreadInfo{PID: 7, Comm: "sh"}, true
	})
	got := translate(t, tr, "openat_x.hex", "openat_x.hex")
	if calls != 1 || got[0].PID != 7 || got[1].Comm != "sh" {
		t.Fatalf("calls %d, events %v %v", calls, got[0], got[1])
	}
	got = translate(t, NewTranslator("x86_64", nil), "openat_x.hex")
	if got[0].PID != 4243 {
		t.Fatalf("pid %d without lookup, want the tid", got[0].PID)
	}
}

// The events handed out own their bytes: scribbling over the ring after
// Translate changes nothing.
func TestTranslateCopies(t *testing.T) {
	b := golden(t, "openat_x.hex")
	var r Raw
	if _, err := DecodeRaw(&r, b); err != nil {
		t.Fatal(err)
	}
	got := NewTranslator("x86_64", noLookup).Translate(nil, &r, 0)
	for i := range b {
		b[i] = 0xff
	}
	if got[0].Str(2) != "/tmp/kdriver-selftest-1" {
		t.Fatalf("event aliases the ring: path %q", got[0].Str(2))
	}
}

func TestOpenFlags(t *testing.T) {
	for _, c := range []struct {
		arch string
		ppm  uint64
		want uint64
	}{
		{"x86_64", ppmORdonly | ppmOCloexec, 0o2000000},
		{"x86_64", ppmORdonly | ppmOWronly | ppmOCreat | ppmOTrunc, 0o2 | 0o100 | 0o1000},
		{"x86_64", ppmOWronly | ppmODirectory, 0o1 | 0o200000},
		{"aarch64", ppmORdonly | ppmODirectory, 0o40000},
		{"aarch64", ppmORdonly | ppmODirect, 0o200000},
	} {
		if got := openFlags(c.arch, c.ppm); got != c.want {
			t.Errorf("%s %#x: %#o, want %#o", c.arch, c.ppm, got, c.want)
		}
	}
}

// The driver's wall-clock stamps become boot-clock ones.
func TestTranslateEpoch(t *testing.T) {
	tr := NewTranslator("x86_64", noLookup)
	tr.Epoch = 1000
	got := translate(t, tr, "openat_x.hex") // ts 1200
	if got[0].TS != 200 {
		t.Fatalf("ts %d, want 200", got[0].TS)
	}
}
