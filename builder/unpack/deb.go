package unpack

import (
	"bufio"
	"compress/bzip2"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// Deb extracts the data archive of a .deb (an ar archive holding
// debian-binary, control.tar.* and data.tar.{xz,zst,gz,bz2,}) into dst.
func Deb(ctx context.Context, r io.Reader, dst string, opts Options) (Stats, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	magic := make([]byte, 8)
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != "!<arch>\n" {
		return Stats{}, fmt.Errorf("deb: not an ar archive: %w", ErrFormat)
	}
	for {
		if err := ctx.Err(); err != nil {
			return Stats{}, err
		}
		name, size, err := arHeader(br)
		if err == io.EOF {
			return Stats{}, fmt.Errorf("deb: no data.tar member: %w", ErrFormat)
		}
		if err != nil {
			return Stats{}, err
		}
		if !strings.HasPrefix(name, "data.tar") {
			if _, err := io.CopyN(io.Discard, br, size+size%2); err != nil {
				return Stats{}, fmt.Errorf("deb: member %s: %w", name, err)
			}
			continue
		}
		dec, closeDec, err := decompressor(strings.TrimPrefix(name, "data.tar"), io.LimitReader(br, size))
		if err != nil {
			return Stats{}, fmt.Errorf("deb: %s: %w", name, err)
		}
		defer closeDec()
		w, err := newWriter(dst, opts)
		if err != nil {
			return Stats{}, err
		}
		defer w.close()
		ra := newReadAhead(dec)
		defer ra.Close()
		if err := w.untar(newCapReader(ctx, ra, opts)); err != nil {
			return w.st, fmt.Errorf("deb: %s: %w", name, err)
		}
		return w.st, nil
	}
}

func arHeader(r io.Reader) (string, int64, error) {
	var h [60]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return "", 0, fmt.Errorf("deb: truncated ar header: %w", ErrFormat)
		}
		return "", 0, err
	}
	if h[58] != '`' || h[59] != '\n' {
		return "", 0, fmt.Errorf("deb: bad ar header: %w", ErrFormat)
	}
	name := strings.TrimRight(strings.TrimSpace(string(h[0:16])), "/")
	size, err := strconv.ParseInt(strings.TrimSpace(string(h[48:58])), 10, 64)
	if err != nil || size < 0 {
		return "", 0, fmt.Errorf("deb: member %q: bad size: %w", name, ErrFormat)
	}
	return name, size, nil
}

// Caps on the memory a compressed stream may ask the decoder to keep.
const (
	maxLZMADict   = 64 << 20
	maxZstdWindow = 128 << 20
)

// decompressor returns a reader for a compression suffix (".xz", ".zst",
// ".gz", ".bz2", "") or a compressor name as RPM spells it.
func decompressor(kind string, r io.Reader) (io.Reader, func(), error) {
	nop := func() {}
	switch kind {
	case "lzma":
		// The header names the dictionary the reader allocates: up to 4 GiB
		// for 13 crafted bytes. xz -9 uses 64 MiB.
		br := bufio.NewReader(r)
		if h, err := br.Peek(5); err == nil {
			if d := binary.LittleEndian.Uint32(h[1:]); d > maxLZMADict {
				return nil, nop, fmt.Errorf("lzma: dictionary of %d bytes, more than %d: %w", d, maxLZMADict, ErrTooLarge)
			}
		}
		lr, err := lzma.ReaderConfig{DictCap: maxLZMADict}.NewReader(br)
		if err != nil {
			return nil, nop, fmt.Errorf("lzma: %w: %w", ErrFormat, err)
		}
		return lr, nop, nil
	case ".xz", "xz":
		xr, err := xz.NewReader(r)
		if err != nil {
			return nil, nop, fmt.Errorf("xz: %w: %w", ErrFormat, err)
		}
		return xr, nop, nil
	case ".zst", "zstd":
		// The frame header names the window the decoder keeps in memory;
		// zstd --ultra -22 uses 128 MiB, packagers far less.
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30),
			zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, nop, fmt.Errorf("zstd: %w: %w", ErrFormat, err)
		}
		return zr, zr.Close, nil
	case ".gz", "gzip":
		gr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nop, fmt.Errorf("gzip: %w: %w", ErrFormat, err)
		}
		return gr, nop, nil
	case ".bz2", "bzip2":
		return bzip2.NewReader(r), nop, nil
	case "", "identity":
		return r, nop, nil
	}
	return nil, nop, fmt.Errorf("compression %q not supported: %w", kind, ErrFormat)
}

// capReader stops a long extraction when ctx is done, and a decompression
// bomb once the decompressed stream (written or not) passes max bytes.
type capReader struct {
	ctx context.Context
	r   io.Reader
	n   int64
	max int64
}

func newCapReader(ctx context.Context, r io.Reader, opts Options) *capReader {
	// Headers and padding come on top of the bytes written.
	return &capReader{ctx: ctx, r: r, max: opts.maxBytes() + 512*int64(opts.maxEntries()) + 1<<20}
}

func (c *capReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n, fmt.Errorf("decompressed stream passes %d bytes: %w", c.max, ErrTooLarge)
	}
	return n, err
}
