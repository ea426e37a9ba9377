// Package debtest crafts small .deb files for tests.
package debtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
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
