package unpack

import (
	"bytes"
	"errors"
	"testing"
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
