package unpack

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// An lzma header (RPM's "lzma" payloads) asking for a 1.5 GiB dictionary is
// refused before the reader allocates it.
func TestLZMADictionaryCapped(t *testing.T) {
	hdr := []byte{0x5d, 0, 0, 0, 0x60, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	_, closeDec, err := decompressor("lzma", bytes.NewReader(append(hdr, make([]byte, 64)...)))
	closeDec()
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

// A zstd frame whose header asks for a 256 MiB window (the decoder keeps
// that much history) is refused; real packages use a few MiB.
func TestZstdWindowCapped(t *testing.T) {
	frame := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 18 << 3, 0x09, 0x00, 0x00, 'x'}
	dec, closeDec, err := decompressor(".zst", bytes.NewReader(frame))
	defer closeDec()
	if err == nil {
		_, err = io.ReadAll(dec)
	}
	if !errors.Is(err, zstd.ErrWindowSizeExceeded) {
		t.Fatalf("err = %v, want the window refused", err)
	}
}
