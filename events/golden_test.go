package events

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenEvent is one event of the golden set: the same values as
// c/golden.c writes.
type goldenEvent struct {
	name  string
	typ   Type
	build func(b *EventBuilder)
}

var (
	inet4 = []byte{2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}
	inet6 = append([]byte{10, 0, 0x01, 0xbb}, append(make([]byte, 19), 1, 0, 0, 0, 0)...)
)

var goldenEvents = []goldenEvent{
	{"execve_e", TypeExecveE, func(b *EventBuilder) { b.Str("/bin/true", 4096).Raw([]byte("true\x00--version\x00")) }},
	{"execve_x", TypeExecveX, func(b *EventBuilder) { b.Int(0) }},
	{"execveat_e", TypeExecveatE, func(b *EventBuilder) { b.Int(-100).Str("/bin/true", 4096).Raw([]byte("true\x00")).Int(0x1000) }},
	{"execveat_x", TypeExecveatX, func(b *EventBuilder) { b.Int(-2) }},
	{"open_x", TypeOpenX, func(b *EventBuilder) { b.Int(3).Int(-100).Str("/etc/hosts", 4096).Int(0x80000).Int(0) }},
	{"openat_x", TypeOpenatX, func(b *EventBuilder) { b.Int(4).Int(-100).Str("/tmp/x", 4096).Int(0x241).Int(0o644) }},
	{"openat2_x", TypeOpenat2X, func(b *EventBuilder) { b.Int(-13).Int(5).Str("rel/path", 4096).Int(0).Int(0) }},
	{"connect_x", TypeConnectX, func(b *EventBuilder) { b.Int(-111).Int(5).Raw(inet4) }},
	{"accept_x", TypeAcceptX, func(b *EventBuilder) { b.Int(6).Int(3).Raw(inet6).Int(0) }},
	{"accept4_x", TypeAccept4X, func(b *EventBuilder) { b.Int(7).Int(3).Raw([]byte("\x01\x00/run/s.sock\x00")).Int(0x80000) }},
	{"clone_x", TypeCloneX, func(b *EventBuilder) { b.Int(1234).Int(0x3d0f00) }},
	{"clone3_x", TypeClone3X, func(b *EventBuilder) { b.Int(0).Int(0x4000) }},
	{"fork_x", TypeForkX, func(b *EventBuilder) { b.Int(1235).Int(0) }},
	{"vfork_x", TypeVforkX, func(b *EventBuilder) { b.Int(1236).Int(0) }},
	{"close_x", TypeCloseX, func(b *EventBuilder) { b.Int(-9).Int(-1) }},
	{"unlinkat_x", TypeUnlinkatX, func(b *EventBuilder) { b.Int(0).Int(-100).Str("/tmp/gone", 4096).Int(0x200) }},
	{"renameat2_x", TypeRenameat2X, func(b *EventBuilder) { b.Int(0).Int(-100).Str("a", 4096).Int(-100).Str("b", 4096).Int(1) }},
	{"procexit", TypeProcExit, func(b *EventBuilder) { b.Int(0x2a00).Int(42).Int(0) }},
}

func encodeGolden(g goldenEvent) []byte {
	var enc Encoder
	enc.Begin(0x0102030405060708, 1001, 1000, g.typ, 1, "golden")
	g.build(enc.Params())
	return bytes.Clone(enc.End())
}

func goldenPath(name, ext string) string {
	return filepath.Join("testdata", "golden", name+ext)
}

// TestGolden checks every event type against its golden bytes (the Go
// encoder must produce them, the decoder must read them back) and its
// golden JSON rendering.
func TestGolden(t *testing.T) {
	if len(goldenEvents) != len(Types()) {
		t.Fatalf("%d golden events for %d types: add the new type", len(goldenEvents), len(Types()))
	}
	for _, g := range goldenEvents {
		t.Run(g.name, func(t *testing.T) {
			if g.typ.String() != g.name {
				t.Fatalf("golden %s has type %s", g.name, g.typ)
			}
			got := encodeGolden(g)
			ev, n, err := Decode(got)
			if err != nil || n != len(got) {
				t.Fatalf("Decode: n=%d err=%v", n, err)
			}
			js := append(AppendJSON(nil, ev), '\n')
			if !json.Valid(js) {
				t.Fatalf("invalid JSON: %s", js)
			}
			if *update {
				write(t, goldenPath(g.name, ".bin"), got)
				write(t, goldenPath(g.name, ".json"), js)
				return
			}
			want := read(t, goldenPath(g.name, ".bin"))
			if !bytes.Equal(got, want) {
				t.Errorf("encoder bytes differ from %s:\n got %x\nwant %x", goldenPath(g.name, ".bin"), got, want)
			}
			if ev.Type != g.typ || ev.PID != 1000 || ev.TID != 1001 || ev.CPU != 1 || ev.Comm != "golden" || ev.TS != 0x0102030405060708 {
				t.Errorf("decoded header %+v", ev)
			}
			if wantJS := read(t, goldenPath(g.name, ".json")); !bytes.Equal(js, wantJS) {
				t.Errorf("JSON differs from %s:\n got %s\nwant %s", goldenPath(g.name, ".json"), js, wantJS)
			}
		})
	}
}

// TestGoldenC compiles c/golden.c, a C producer that builds the same
// events with struct kd_evt_hdr, and checks its bytes against the golden
// files.
func TestGoldenC(t *testing.T) {
	cc := ""
	for _, c := range []string{"cc", "gcc", "clang-16", "clang"} {
		if p, err := exec.LookPath(c); err == nil {
			cc = p
			break
		}
	}
	if cc == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true: no C compiler (cc, gcc, clang) to build c/golden.c")
		}
		t.Skip("no C compiler")
	}
	bin := filepath.Join(t.TempDir(), "golden")
	out, err := exec.Command(cc, "-std=gnu11", "-Wall", "-Werror", "-Ic", "-o", bin, "c/golden.c").CombinedOutput()
	if err != nil {
		t.Fatalf("%s c/golden.c: %v\n%s", cc, err, out)
	}
	out, err = exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("golden: %v", err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, hexBytes, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		got, err := hex.DecodeString(hexBytes)
		if err != nil {
			t.Fatal(err)
		}
		seen[name] = true
		if want := read(t, goldenPath(name, ".bin")); !bytes.Equal(got, want) {
			t.Errorf("C bytes of %s differ:\n got %x\nwant %x", name, got, want)
		}
	}
	for _, g := range goldenEvents {
		if !seen[g.name] {
			t.Errorf("c/golden.c does not write %s", g.name)
		}
	}
}

func read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./events -run TestGolden -update)", err)
	}
	return b
}

func write(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
