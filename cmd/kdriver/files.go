package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/kdriver/kdriver/loader/host"
)

// Size bounds of the small files named on the command line.
const (
	maxConfigSize = 1 << 20  // --config
	maxKeySize    = 64 << 10 // --index-key, --sign-key, FILE.json
)

// readInputFile reads a small file named by a flag (what names it, e.g.
// "--config"): a regular file of at most limit bytes. A FIFO, a device or a
// directory is refused before anything blocks on it, and an endless file is
// not read past the bound; both are usage errors that name the file.
func readInputFile(what, path string, limit int64) ([]byte, error) {
	bad := func(why string) error {
		return usageError{fmt.Sprintf("%s %s: %s", what, path, why)}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, bad(pathErr(err))
	}
	if !st.Mode().IsRegular() {
		return nil, bad(fmt.Sprintf("not a regular file (%s)", host.FileKind(st.Mode())))
	}
	// Non-blocking: the path may have been swapped for a FIFO since Stat.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, bad(pathErr(err))
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, bad("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, bad(pathErr(err))
	}
	if int64(len(data)) > limit {
		return nil, bad(fmt.Sprintf("larger than %d bytes", limit))
	}
	return data, nil
}

// checkInputFile checks that a file named by a flag, and read later by a
// package, exists and is a regular file.
func checkInputFile(what, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return usageError{fmt.Sprintf("%s %s: %s", what, path, pathErr(err))}
	}
	if !st.Mode().IsRegular() {
		return usageError{fmt.Sprintf("%s %s: not a regular file (%s)", what, path, host.FileKind(st.Mode()))}
	}
	return nil
}

// pathErr is err without the path an *fs.PathError repeats.
func pathErr(err error) string {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
