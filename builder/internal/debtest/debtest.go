// Package debtest crafts small .deb and .rpm files for tests.
package debtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// Entry is one file of a crafted package. Link set: a symlink.
type Entry struct {
	Name, Body, Link string
}

// Deb returns a .deb whose data.tar.gz holds the entries.
func Deb(entries ...Entry) []byte {
	var data bytes.Buffer
	gz := gzip.NewWriter(&data)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e.Body))}
		if e.Link != "" {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.Link, 0
		}
		tw.WriteHeader(h)
		if e.Link == "" {
			tw.Write([]byte(e.Body))
		}
	}
	tw.Close()
	gz.Close()
	var out bytes.Buffer
	out.WriteString("!<arch>\n")
	for _, m := range [][2]string{{"debian-binary", "2.0\n"}, {"data.tar.gz", data.String()}} {
		fmt.Fprintf(&out, "%-16s%-12s%-6s%-6s%-8s%-10d`\n", m[0], "0", "0", "0", "100644", len(m[1]))
		out.WriteString(m[1])
		if len(m[1])%2 == 1 {
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

// SHA256 is the hex digest of b.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// RPM returns an .rpm (lead, signature header, header naming a gzip'd cpio
// payload) holding the entries.
func RPM(entries ...Entry) []byte {
	var cpio bytes.Buffer
	write := func(name string, mode int, data string) {
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
		if e.Link != "" {
			write(e.Name, 0o120777, e.Link)
		} else {
			write(e.Name, 0o100644, e.Body)
		}
	}
	write("TRAILER!!!", 0, "")
	header := func(tags map[uint32]string, pad bool) []byte {
		var index, store bytes.Buffer
		for _, tag := range []uint32{1000, 1124, 1125} {
			v, ok := tags[tag]
			if !ok {
				continue
			}
			binary.Write(&index, binary.BigEndian, [4]uint32{tag, 6, uint32(store.Len()), 1})
			store.WriteString(v + "\x00")
		}
		var out bytes.Buffer
		out.Write([]byte{0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0})
		binary.Write(&out, binary.BigEndian, [2]uint32{uint32(index.Len() / 16), uint32(store.Len())})
		out.Write(index.Bytes())
		out.Write(store.Bytes())
		for pad && store.Len()%8 != 0 {
			store.WriteByte(0)
			out.WriteByte(0)
		}
		return out.Bytes()
	}
	var f bytes.Buffer
	lead := make([]byte, 96)
	copy(lead, []byte{0xed, 0xab, 0xee, 0xdb})
	f.Write(lead)
	f.Write(header(map[uint32]string{1000: "sig"}, true))
	f.Write(header(map[uint32]string{1000: "kernel-devel", 1124: "cpio", 1125: "gzip"}, false))
	gz := gzip.NewWriter(&f)
	gz.Write(cpio.Bytes())
	gz.Close()
	return f.Bytes()
}
