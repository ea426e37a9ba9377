package unpack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"strconv"
)

// RPM header tags this package reads.
const (
	tagPayloadFormat     = 1124
	tagPayloadCompressor = 1125
	maxHeaderBytes       = 64 << 20
)

// RPM extracts the cpio payload of an .rpm (lead, signature header, header,
// compressed cpio) into dst.
func RPM(ctx context.Context, r io.Reader, dst string, opts Options) (Stats, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	lead := make([]byte, 96)
	if _, err := io.ReadFull(br, lead); err != nil || !bytes.Equal(lead[:4], []byte{0xed, 0xab, 0xee, 0xdb}) {
		return Stats{}, fmt.Errorf("rpm: no lead: %w", ErrFormat)
	}
	// The signature header is padded to 8 bytes; the main header is not.
	if _, err := rpmHeader(br, true); err != nil {
		return Stats{}, fmt.Errorf("rpm: signature: %w", err)
	}
	tags, err := rpmHeader(br, false)
	if err != nil {
		return Stats{}, fmt.Errorf("rpm: header: %w", err)
	}
	if f := tags[tagPayloadFormat]; f != "" && f != "cpio" {
		return Stats{}, fmt.Errorf("rpm: payload format %q not supported: %w", f, ErrFormat)
	}
	comp := tags[tagPayloadCompressor]
	if comp == "" {
		comp = "gzip" // rpm's default
	}
	dec, closeDec, err := decompressor(comp, br)
	if err != nil {
		return Stats{}, fmt.Errorf("rpm: %w", err)
	}
	defer closeDec()
	w, err := newWriter(dst, opts)
	if err != nil {
		return Stats{}, err
	}
	defer w.close()
	ra := newReadAhead(dec)
	defer ra.Close()
	if err := w.uncpio(newCapReader(ctx, ra, opts)); err != nil {
		return w.st, fmt.Errorf("rpm: %w", err)
	}
	return w.st, nil
}

// rpmHeader reads one header structure and returns its string tags.
func rpmHeader(r io.Reader, pad bool) (map[int]string, error) {
	var pre [16]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("truncated: %w", ErrFormat)
	}
	if !bytes.Equal(pre[:3], []byte{0x8e, 0xad, 0xe8}) {
		return nil, fmt.Errorf("bad magic: %w", ErrFormat)
	}
	nindex := int64(binary.BigEndian.Uint32(pre[8:]))
	hsize := int64(binary.BigEndian.Uint32(pre[12:]))
	if nindex*16+hsize > maxHeaderBytes {
		return nil, fmt.Errorf("%d entries, %d bytes: %w", nindex, hsize, ErrTooLarge)
	}
	index := make([]byte, nindex*16)
	if _, err := io.ReadFull(r, index); err != nil {
		return nil, fmt.Errorf("truncated index: %w", ErrFormat)
	}
	store := make([]byte, hsize)
	if _, err := io.ReadFull(r, store); err != nil {
		return nil, fmt.Errorf("truncated store: %w", ErrFormat)
	}
	if pad {
		if n := (8 - hsize%8) % 8; n > 0 {
			if _, err := io.ReadFull(r, make([]byte, n)); err != nil {
				return nil, fmt.Errorf("truncated padding: %w", ErrFormat)
			}
		}
	}
	tags := map[int]string{}
	for i := int64(0); i < nindex; i++ {
		e := index[i*16:]
		tag := int(binary.BigEndian.Uint32(e))
		typ := binary.BigEndian.Uint32(e[4:])
		off := int64(binary.BigEndian.Uint32(e[8:]))
		if typ != 6 || off >= hsize { // 6: STRING
			continue
		}
		s := store[off:]
		if j := bytes.IndexByte(s, 0); j >= 0 {
			s = s[:j]
		}
		tags[tag] = string(s)
	}
	return tags, nil
}

// uncpio extracts a cpio "newc" (070701) or "crc" (070702) stream.
func (w *writer) uncpio(r io.Reader) error {
	br := bufio.NewReader(r)
	var hdr [110]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return fmt.Errorf("cpio: truncated header: %w", ErrFormat)
		}
		if m := string(hdr[:6]); m != "070701" && m != "070702" {
			return fmt.Errorf("cpio: magic %q: only newc is supported: %w", m, ErrFormat)
		}
		field := func(i int) (int64, error) {
			v, err := strconv.ParseUint(string(hdr[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				return 0, fmt.Errorf("cpio: bad header field: %w", ErrFormat)
			}
			return int64(v), nil
		}
		mode, err := field(1)
		if err != nil {
			return err
		}
		size, err := field(6)
		if err != nil {
			return err
		}
		nameSize, err := field(11)
		if err != nil {
			return err
		}
		if nameSize == 0 || nameSize > 4096 {
			return fmt.Errorf("cpio: name size %d: %w", nameSize, ErrFormat)
		}
		nb := make([]byte, nameSize)
		if _, err := io.ReadFull(br, nb); err != nil {
			return fmt.Errorf("cpio: truncated name: %w", ErrFormat)
		}
		if err := skip(br, pad4(110+nameSize)); err != nil {
			return err
		}
		raw := string(bytes.TrimRight(nb, "\x00"))
		if raw == "TRAILER!!!" {
			return nil
		}
		if err := w.count(); err != nil {
			return err
		}
		name, err := entryName(raw)
		if err != nil {
			return err
		}
		data := io.LimitReader(br, size)
		if w.wanted(name) {
			if err := w.checkParents(name); err != nil {
				return err
			}
		}
		switch mode & 0o170000 {
		case 0o120000: // symlink: the data is the target
			if size > 4096 {
				return fmt.Errorf("cpio: symlink %s: target too long: %w", name, ErrFormat)
			}
			t, err := io.ReadAll(data)
			if err != nil {
				return err
			}
			if w.wanted(name) {
				if err := CheckSymlink(name, string(t)); err != nil {
					return err
				}
				if err := w.symlink(name, string(t)); err != nil {
					return err
				}
			}
		case 0o040000:
			if w.wanted(name) {
				if err := w.dir(name, fs.FileMode(mode&0o777)); err != nil {
					return err
				}
			}
		case 0o100000:
			if w.wanted(name) {
				if err := w.file(name, fs.FileMode(mode&0o777), data); err != nil {
					return err
				}
			}
		}
		if _, err := io.Copy(io.Discard, data); err != nil {
			return fmt.Errorf("cpio: %s: %w", name, err)
		}
		if err := skip(br, pad4(size)); err != nil {
			return err
		}
	}
}

func pad4(n int64) int64 { return (4 - n%4) % 4 }

func skip(r io.Reader, n int64) error {
	if n == 0 {
		return nil
	}
	if _, err := io.CopyN(io.Discard, r, n); err != nil {
		return fmt.Errorf("cpio: truncated: %w", ErrFormat)
	}
	return nil
}
