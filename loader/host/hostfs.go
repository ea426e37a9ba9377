package host

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// MaxFileSize bounds every file Detect reads from the host root: the
// facts are a few lines each, and a huge (or endless) file is not one.
const MaxFileSize = 1 << 20

// ErrNotRegular is returned for a host file that is a FIFO, a device, a
// socket or a directory: reading one may block forever or never end.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned for a host file larger than MaxFileSize.
var ErrTooLarge = errors.New("file too large")

// Open returns an FS for the host root directory dir, confined to it
// (symlinks cannot escape), and a function that releases it. Its files
// are opened non-blocking, so that a FIFO planted under the host root
// cannot hang kdriver at open.
func Open(dir string) (fs.FS, func() error, error) {
	// A FIFO given as the root would block OpenRoot: check the type first.
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return nil, nil, fmt.Errorf("host root %s: not a directory (%s) (--host-root must name the directory where the host's / is mounted)", dir, FileKind(st.Mode()))
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("host root %s: %w (--host-root must name the directory where the host's / is mounted)", dir, err)
	}
	return rootFS{r}, r.Close, nil
}

// rootFS is os.Root's FS with non-blocking opens and bounded reads.
type rootFS struct{ r *os.Root }

func (h rootFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := h.r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (h rootFS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	return h.r.Stat(name)
}

func (h rootFS) ReadFile(name string) ([]byte, error) { return ReadFile(h, name) }

// ReadLink and Lstat let the host's absolute symlinks (etc/os-release →
// /usr/lib/os-release) be resolved under the host root by the caller.
func (h rootFS) ReadLink(name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return h.r.Readlink(name)
}

func (h rootFS) Lstat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrInvalid}
	}
	return h.r.Lstat(name)
}

// ReadFile reads the host file name from fsys: a regular file of at most
// MaxFileSize bytes, else an error wrapping ErrNotRegular or ErrTooLarge.
// The type is checked before the open (a FIFO blocks there unless the FS
// opens non-blocking, as Open's does) and again on the open file.
func ReadFile(fsys fs.FS, name string) ([]byte, error) {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if err := regular(name, st); err != nil {
		return nil, err
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := regular(name, st); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	if len(data) > MaxFileSize {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxFileSize)}
	}
	return data, nil
}

func regular(name string, st fs.FileInfo) error {
	if st.Mode().IsRegular() {
		return nil
	}
	return &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w (%s)", ErrNotRegular, FileKind(st.Mode()))}
}

// FileKind names a file type for messages: "a named pipe", "a directory" …
func FileKind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "type " + m.Type().String()
}
