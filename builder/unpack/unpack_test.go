package unpack

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// entry is one tar or cpio entry of a crafted archive.
type entry struct {
	name, body, link string
	typ              byte // tar type flag
}

func tarball(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o644}
		switch e.typ {
		case tar.TypeDir:
			h.Mode = 0o755
		case tar.TypeReg:
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func compress(t testing.TB, kind string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	var err error
	switch kind {
	case ".xz":
		w, err = xz.NewWriter(&buf)
	case ".zst":
		w, err = zstd.NewWriter(&buf)
	case ".gz":
		w = gzip.NewWriter(&buf)
	case "":
		return b
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func ar(members ...[2]string) []byte {
	var buf bytes.Buffer
	buf.WriteString("!<arch>\n")
	for _, m := range members {
		fmt.Fprintf(&buf, "%-16s%-12s%-6s%-6s%-8s%-10d`\n", m[0], "0", "0", "0", "100644", len(m[1]))
		buf.WriteString(m[1])
		if len(m[1])%2 == 1 {
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

func deb(t testing.TB, comp string, entries []entry) []byte {
	data := compress(t, comp, tarball(t, entries))
	ctl := compress(t, ".gz", tarball(t, []entry{{name: "./control", body: "Package: x\n", typ: tar.TypeReg}}))
	return ar([2]string{"debian-binary", "2.0\n"}, [2]string{"control.tar.gz", string(ctl)}, [2]string{"data.tar" + comp, string(data)})
}

// listTree returns "path kind[ -> target]" lines for everything under dir.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out = append(out, rel+" -> "+l)
		case d.IsDir():
			out = append(out, rel+"/")
		default:
			b, _ := os.ReadFile(p)
			out = append(out, rel+" = "+string(b))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

var good = []entry{
	{name: "./", typ: tar.TypeDir},
	{name: "./usr/src/h/", typ: tar.TypeDir},
	{name: "./usr/src/h/Makefile", body: "include /usr/src/c/Makefile\n", typ: tar.TypeReg},
	{name: "./usr/src/h/scripts", link: "../../lib/kb/scripts", typ: tar.TypeSymlink},
	{name: "./usr/src/h/Kbuild", link: "usr/src/h/Makefile", typ: tar.TypeLink},
	{name: "./usr/lib/kb/scripts/fixdep", body: "ELF", typ: tar.TypeReg},
	{name: "./lib/modules/6.1.0-1-amd64/build", link: "/usr/src/h", typ: tar.TypeSymlink},
}

func TestDebFormats(t *testing.T) {
	for _, comp := range []string{".xz", ".zst", ".gz", ""} {
		t.Run("data.tar"+comp, func(t *testing.T) {
			dst := t.TempDir()
			onlyUsr := func(n string) bool { return strings.HasPrefix(n, "usr/") }
			st, err := Deb(context.Background(), bytes.NewReader(deb(t, comp, good)), dst, Options{Include: onlyUsr})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				"usr/", "usr/lib/", "usr/lib/kb/", "usr/lib/kb/scripts/", "usr/lib/kb/scripts/fixdep = ELF",
				"usr/src/", "usr/src/h/", "usr/src/h/Kbuild = include /usr/src/c/Makefile\n",
				"usr/src/h/Makefile = include /usr/src/c/Makefile\n", "usr/src/h/scripts -> ../../lib/kb/scripts",
			}
			if got := listTree(t, dst); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("tree:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if st.Files != 2 || st.Links != 2 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestDebRefusesUnsafe(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		want    error
	}{
		{"dotdot", []entry{{name: "../evil", body: "x", typ: tar.TypeReg}}, ErrUnsafePath},
		{"nested dotdot", []entry{{name: "./a/../../evil", body: "x", typ: tar.TypeReg}}, ErrUnsafePath},
		{"absolute", []entry{{name: "/tmp/evil", body: "x", typ: tar.TypeReg}}, ErrUnsafePath},
		{"absolute symlink", []entry{{name: "./etc", link: "/etc", typ: tar.TypeSymlink}}, ErrUnsafeLink},
		{"relative symlink out", []entry{{name: "./a/up", link: "../../..", typ: tar.TypeSymlink}}, ErrUnsafeLink},
		{"symlink then write through", []entry{
			{name: "./a/", typ: tar.TypeDir},
			{name: "./a/up", link: "..", typ: tar.TypeSymlink},
			{name: "./a/up/up2", link: "..", typ: tar.TypeSymlink},
		}, ErrUnsafeLink},
		{"hard link out", []entry{{name: "./x", link: "../../etc/passwd", typ: tar.TypeLink}}, ErrUnsafeLink},
		{"absolute hard link", []entry{{name: "./x", link: "/etc/passwd", typ: tar.TypeLink}}, ErrUnsafeLink},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			dst := filepath.Join(work, "out")
			entries := append([]entry{{name: "./ok", body: "fine", typ: tar.TypeReg}}, tt.entries...)
			entries = append(entries, entry{name: "./evil", body: "x", typ: tar.TypeReg})
			_, err := Deb(context.Background(), bytes.NewReader(deb(t, ".gz", entries)), dst, Options{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			// Nothing outside dst, and extraction stopped at the bad entry.
			if got := listTree(t, work); len(got) == 0 || got[0] != "out/" {
				t.Errorf("work folder: %v", got)
			}
			for _, l := range listTree(t, work) {
				if strings.Contains(l, "evil") {
					t.Errorf("wrote %s", l)
				}
			}
		})
	}
}

func TestDebBomb(t *testing.T) {
	big := strings.Repeat("\x00", 8<<20)
	b := deb(t, ".zst", []entry{{name: "./zeros", body: big, typ: tar.TypeReg}})
	if len(b) > 64<<10 {
		t.Fatalf("crafted archive is %d bytes, want a small one", len(b))
	}
	for _, tt := range []struct {
		name string
		opts Options
	}{
		{"written", Options{MaxBytes: 1 << 20}},
		{"filtered out", Options{MaxBytes: 1 << 20, MaxEntries: 1, Include: func(string) bool { return false }}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dst := t.TempDir()
			_, err := Deb(context.Background(), bytes.NewReader(b), dst, tt.opts)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
		})
	}
}

func TestDebNotAnArchive(t *testing.T) {
	for _, in := range []string{"", "hello", "!<arch>\n", "!<arch>\ndebian-binary   0           0     0     100644  4         `\n2.0\n"} {
		_, err := Deb(context.Background(), strings.NewReader(in), t.TempDir(), Options{})
		if !errors.Is(err, ErrFormat) {
			t.Errorf("Deb(%q) = %v, want ErrFormat", in, err)
		}
	}
}

// rpmFile crafts an RPM: lead, signature header, header with the payload
// compressor, gzip'd cpio newc payload.
func rpmFile(t testing.TB, entries []entry) []byte {
	var cpio bytes.Buffer
	write := func(name string, mode int64, data string) {
		fmt.Fprintf(&cpio, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
			1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
		cpio.WriteString(name + "\x00")
		for cpio.Len()%4 != 0 {
			cpio.WriteByte(0)
		}
		cpio.WriteString(data)
		for cpio.Len()%4 != 0 {
			cpio.WriteByte(0)
		}
	}
	for _, e := range entries {
		switch e.typ {
		case tar.TypeDir:
			write(e.name, 0o40755, "")
		case tar.TypeSymlink:
			write(e.name, 0o120777, e.link)
		default:
			write(e.name, 0o100644, e.body)
		}
	}
	write("TRAILER!!!", 0, "")
	header := func(tags map[uint32]string, pad bool) []byte {
		var index, store bytes.Buffer
		for tag, v := range tags {
			binary.Write(&index, binary.BigEndian, [4]uint32{tag, 6, uint32(store.Len()), 1})
			store.WriteString(v + "\x00")
		}
		var out bytes.Buffer
		out.Write([]byte{0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0})
		binary.Write(&out, binary.BigEndian, [2]uint32{uint32(len(tags)), uint32(store.Len())})
		out.Write(index.Bytes())
		out.Write(store.Bytes())
		for pad && (store.Len()+out.Len()-store.Len())%8 != 0 {
			out.WriteByte(0)
		}
		return out.Bytes()
	}
	var f bytes.Buffer
	lead := make([]byte, 96)
	copy(lead, []byte{0xed, 0xab, 0xee, 0xdb})
	f.Write(lead)
	f.Write(header(map[uint32]string{1000: "sig"}, true))
	f.Write(header(map[uint32]string{1000: "kernel-devel", tagPayloadFormat: "cpio", tagPayloadCompressor: "gzip"}, false))
	f.Write(compress(t, ".gz", cpio.Bytes()))
	return f.Bytes()
}

func TestRPM(t *testing.T) {
	dst := t.TempDir()
	_, err := RPM(context.Background(), bytes.NewReader(rpmFile(t, []entry{
		{name: "./usr/src/kernels/6.1/", typ: tar.TypeDir},
		{name: "./usr/src/kernels/6.1/Makefile", body: "VERSION = 6\n"},
		{name: "./usr/src/kernels/6.1/build", link: "Makefile", typ: tar.TypeSymlink},
	})), dst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "usr/|usr/src/|usr/src/kernels/|usr/src/kernels/6.1/|usr/src/kernels/6.1/Makefile = VERSION = 6\n|usr/src/kernels/6.1/build -> Makefile"
	if got := strings.Join(listTree(t, dst), "|"); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	for _, bad := range []entry{
		{name: "../../evil", body: "x"},
		{name: "./lib/modules/6.1/build", link: "/usr/src/kernels/6.1", typ: tar.TypeSymlink},
	} {
		work := t.TempDir()
		_, err := RPM(context.Background(), bytes.NewReader(rpmFile(t, []entry{bad})), filepath.Join(work, "out"), Options{})
		if !errors.Is(err, ErrUnsafePath) && !errors.Is(err, ErrUnsafeLink) {
			t.Errorf("%s: err = %v, want it refused", bad.name, err)
		}
	}
}

func FuzzDeb(f *testing.F) {
	f.Add(deb(f, ".gz", good))
	f.Add(deb(f, "", good))
	f.Fuzz(func(t *testing.T, b []byte) {
		work := t.TempDir()
		Deb(context.Background(), bytes.NewReader(b), filepath.Join(work, "out"), Options{MaxBytes: 1 << 20, MaxEntries: 100})
		for _, l := range listTree(t, work) {
			if !strings.HasPrefix(l, "out/") {
				t.Fatalf("wrote outside: %s", l)
			}
		}
	})
}

func FuzzRPM(f *testing.F) {
	f.Add(rpmFile(f, good))
	f.Fuzz(func(t *testing.T, b []byte) {
		work := t.TempDir()
		RPM(context.Background(), bytes.NewReader(b), filepath.Join(work, "out"), Options{MaxBytes: 1 << 20, MaxEntries: 100})
		for _, l := range listTree(t, work) {
			if !strings.HasPrefix(l, "out/") {
				t.Fatalf("wrote outside: %s", l)
			}
		}
	})
}
