// Package unpack extracts Debian (.deb) and RPM (.rpm) packages in pure Go,
// into a directory opened with os.OpenRoot so that no entry can write outside
// it. Entries are refused, with the whole extraction, when their name is
// absolute or contains "..", when a link points out of the tree (absolute
// symlinks included), or when the archive expands past a size or entry cap
// (decompression bombs).
package unpack

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

var (
	// ErrUnsafePath is returned for an entry named outside the tree.
	ErrUnsafePath = errors.New("unsafe path")
	// ErrUnsafeLink is returned for a link that points outside the tree.
	ErrUnsafeLink = errors.New("unsafe link")
	// ErrTooLarge is returned when an archive expands past its cap.
	ErrTooLarge = errors.New("archive too large")
	// ErrFormat is returned for data that is not the expected format.
	ErrFormat = errors.New("bad archive format")
)

// Options limit and filter an extraction.
type Options struct {
	// MaxBytes caps the bytes written (default 4 GiB).
	MaxBytes int64
	// MaxEntries caps the entries read (default 1,000,000).
	MaxEntries int
	// Include, when set, selects the entries (cleaned, relative names such
	// as "usr/src/x") to extract; the others are read and checked but not
	// written.
	Include func(name string) bool
}

func (o Options) maxBytes() int64 {
	if o.MaxBytes > 0 {
		return o.MaxBytes
	}
	return 4 << 30
}

func (o Options) maxEntries() int {
	if o.MaxEntries > 0 {
		return o.MaxEntries
	}
	return 1_000_000
}

// Stats counts what an extraction wrote.
type Stats struct {
	Files int   `json:"files"`
	Links int   `json:"links"`
	Bytes int64 `json:"bytes"`
}

// entryName turns an archive name into a clean relative name, or an error.
// "" means the archive root itself.
func entryName(name string) (string, error) {
	n := strings.TrimPrefix(name, "./")
	if n == "." || n == "" {
		return "", nil
	}
	if strings.HasPrefix(n, "/") {
		return "", fmt.Errorf("entry %q: absolute name: %w", name, ErrUnsafePath)
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", fmt.Errorf("entry %q: \"..\" in name: %w", name, ErrUnsafePath)
		}
	}
	if strings.ContainsRune(n, 0) {
		return "", fmt.Errorf("entry %q: NUL in name: %w", name, ErrUnsafePath)
	}
	return path.Clean(n), nil
}

// CheckSymlink refuses symlink targets that are absolute or lead out of the
// tree from where the link sits.
func CheckSymlink(name, target string) error {
	if target == "" || strings.HasPrefix(target, "/") {
		return fmt.Errorf("symlink %s -> %q: absolute target: %w", name, target, ErrUnsafeLink)
	}
	j := path.Join(path.Dir(name), target)
	if j == ".." || strings.HasPrefix(j, "../") {
		return fmt.Errorf("symlink %s -> %q: points out of the tree: %w", name, target, ErrUnsafeLink)
	}
	return nil
}

// writer writes entries into a root, enforcing the caps.
type writer struct {
	root    *os.Root
	links   map[string]bool     // symlinks this extraction made
	made    map[string]bool     // directories known to exist
	dirs    map[string]*os.Root // open handles of recent directories
	order   []string
	opts    Options
	entries int
	st      Stats
}

func newWriter(dst string, opts Options) (*writer, error) {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return nil, err
	}
	return &writer{root: root, opts: opts}, nil
}

func (w *writer) close() error {
	w.dropDirs()
	return w.root.Close()
}

// maxDirs bounds the directory handles kept open: archives list files
// directory by directory, so a few suffice.
const maxDirs = 32

func (w *writer) dropDirs() {
	for _, r := range w.dirs {
		r.Close()
	}
	w.dirs, w.order = nil, nil
}

// at returns an os.Root for name's directory (made if needed) and name's
// base: one openat per entry instead of one per path component.
func (w *writer) at(name string) (*os.Root, string, error) {
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return w.root, base, nil
	}
	if r, ok := w.dirs[dir]; ok {
		return r, base, nil
	}
	if !w.made[dir] {
		if err := w.root.MkdirAll(dir, 0o755); err != nil {
			return nil, "", err
		}
		w.markMade(dir)
	}
	r, err := w.root.OpenRoot(dir)
	if err != nil {
		return nil, "", err
	}
	if len(w.order) >= maxDirs {
		w.dropDirs()
	}
	if w.dirs == nil {
		w.dirs = map[string]*os.Root{}
	}
	w.dirs[dir] = r
	w.order = append(w.order, dir)
	return r, base, nil
}

func (w *writer) markMade(dir string) {
	if w.made == nil {
		w.made = map[string]bool{}
	}
	for ; dir != "." && dir != "" && !w.made[dir]; dir = path.Dir(dir) {
		w.made[dir] = true
	}
}

func (w *writer) count() error {
	w.entries++
	if w.entries > w.opts.maxEntries() {
		return fmt.Errorf("more than %d entries: %w", w.opts.maxEntries(), ErrTooLarge)
	}
	return nil
}

// checkParents refuses an entry placed under a symlink of the archive: the
// link's target was checked from where the link sits, not from where the
// entry would land, so "a/up -> .." then "a/up/x -> .." would escape.
func (w *writer) checkParents(name string) error {
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		if w.links[d] {
			return fmt.Errorf("entry %s: placed under symlink %s: %w", name, d, ErrUnsafeLink)
		}
	}
	return nil
}

func (w *writer) wanted(name string) bool {
	return name != "" && (w.opts.Include == nil || w.opts.Include(name))
}

func (w *writer) dir(name string, mode fs.FileMode) error {
	if w.made[name] {
		return nil
	}
	if err := w.root.MkdirAll(name, mode.Perm()|0o700); err != nil {
		return err
	}
	w.markMade(name)
	return nil
}

func (w *writer) parent(name string) error {
	if d := path.Dir(name); d != "." && !w.made[d] {
		if err := w.root.MkdirAll(d, 0o755); err != nil {
			return err
		}
		w.markMade(d)
	}
	return nil
}

// create makes name with fn, replacing what an earlier entry left there.
func (w *writer) create(name string, fn func(dir *os.Root, base string) error) error {
	dir, base, err := w.at(name)
	if err != nil {
		return err
	}
	err = fn(dir, base)
	if errors.Is(err, fs.ErrExist) {
		if err := dir.Remove(base); err != nil {
			return err
		}
		err = fn(dir, base)
	}
	return err
}

func (w *writer) file(name string, mode fs.FileMode, r io.Reader) error {
	var f *os.File
	err := w.create(name, func(dir *os.Root, base string) (err error) {
		f, err = dir.OpenFile(base, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode.Perm()&0o777|0o600)
		return err
	})
	if err != nil {
		return err
	}
	left := w.opts.maxBytes() - w.st.Bytes
	n, err := io.Copy(f, io.LimitReader(r, left+1))
	w.st.Bytes += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("entry %s: %w", name, err)
	}
	if n > left {
		return fmt.Errorf("entry %s: expands past %d bytes: %w", name, w.opts.maxBytes(), ErrTooLarge)
	}
	w.st.Files++
	return nil
}

func (w *writer) symlink(name, target string) error {
	w.st.Links++
	if w.links == nil {
		w.links = map[string]bool{}
	}
	w.links[name] = true
	return w.create(name, func(dir *os.Root, base string) error { return dir.Symlink(target, base) })
}

func (w *writer) hardlink(name, target string) error {
	if err := w.parent(name); err != nil {
		return err
	}
	_ = w.root.Remove(name)
	w.st.Links++
	return w.root.Link(target, name)
}

// untar extracts a tar stream into w.
func (w *writer) untar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tar: %w: %w", ErrFormat, err)
		}
		if err := w.count(); err != nil {
			return err
		}
		name, err := entryName(h.Name)
		if err != nil {
			return err
		}
		if !w.wanted(name) {
			continue
		}
		if err := w.checkParents(name); err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeSymlink:
			if err := CheckSymlink(name, h.Linkname); err != nil {
				return err
			}
		case tar.TypeLink:
			target, err := entryName(h.Linkname)
			if err == nil && target != "" {
				err = w.checkParents(target + "/x")
			}
			if err != nil || target == "" {
				return fmt.Errorf("hard link %s -> %q: %w", name, h.Linkname, ErrUnsafeLink)
			}
			h.Linkname = target
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = w.dir(name, h.FileInfo().Mode())
		case tar.TypeReg, tar.TypeRegA:
			err = w.file(name, h.FileInfo().Mode(), tr)
		case tar.TypeSymlink:
			err = w.symlink(name, h.Linkname)
		case tar.TypeLink:
			if !w.wanted(h.Linkname) {
				return fmt.Errorf("hard link %s -> %s: target not extracted: %w", name, h.Linkname, ErrUnsafeLink)
			}
			err = w.hardlink(name, h.Linkname)
		default:
			// Devices, FIFOs: not needed to build anything.
		}
		if err != nil {
			return err
		}
	}
}
