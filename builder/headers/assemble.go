package headers

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/kdriver/kdriver/builder/unpack"
)

// ErrUnsafeTree is returned when packages that each extract safely would,
// together, make a tree that leads out of itself: an entry under another
// package's symlink, a directory replaced by a symlink, a link that
// resolves outside the tree.
var ErrUnsafeTree = errors.New("unsafe header tree")

// assembler links extracted packages into one tree. Every path goes through
// one os.Root at the store's folder, so nothing reaches outside the store,
// and no path is ever resolved through a symlink a package made: each
// package was checked alone, and a link that is harmless in its own package
// can lead anywhere once another package's entries are placed around it.
type assembler struct {
	root  *os.Root          // the store's folder
	dst   string            // the tree being assembled, relative to root
	dirs  map[string]bool   // directories made in the tree
	links map[string]string // symlinks made in the tree → the package that made it
}

func newAssembler(root *os.Root, dst string) *assembler {
	return &assembler{root: root, dst: dst, dirs: map[string]bool{}, links: map[string]string{}}
}

// under returns the symlink of the tree that name would be placed under.
func (a *assembler) under(name string) (string, bool) {
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		if _, ok := a.links[d]; ok {
			return d, true
		}
	}
	return "", false
}

// add links the package extracted at src (relative to root) into the tree.
// A later package's file replaces an earlier one's, as dpkg would.
func (a *assembler) add(src, pkg string) error {
	sub, err := a.root.OpenRoot(src)
	if err != nil {
		return err
	}
	defer sub.Close()
	// WalkDir reads entries with lstat: it never descends into a symlink.
	return fs.WalkDir(sub.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel == "." || rel == complete {
			return nil
		}
		if l, ok := a.under(rel); ok {
			return fmt.Errorf("package %s: %s lies under symlink %s of package %s: %w", pkg, rel, l, a.links[l], ErrUnsafeTree)
		}
		dst := path.Join(a.dst, rel)
		switch {
		case d.IsDir():
			if by, ok := a.links[rel]; ok {
				return fmt.Errorf("package %s: directory %s is a symlink of package %s: %w", pkg, rel, by, ErrUnsafeTree)
			}
			if a.dirs[rel] {
				return nil
			}
			if err := a.root.Mkdir(dst, 0o755); err != nil {
				return fmt.Errorf("package %s: %w", pkg, err)
			}
			a.dirs[rel] = true
		case d.Type()&fs.ModeSymlink != 0:
			target, err := sub.Readlink(rel)
			if err != nil {
				return err
			}
			if err := unpack.CheckSymlink(rel, target); err != nil {
				return fmt.Errorf("package %s: %w", pkg, err)
			}
			if a.dirs[rel] {
				return fmt.Errorf("package %s: replaces directory %s with a symlink: %w", pkg, rel, ErrUnsafeTree)
			}
			_ = a.root.Remove(dst) // unlinkat: an earlier symlink itself, never its target
			if err := a.root.Symlink(target, dst); err != nil {
				return fmt.Errorf("package %s: %w", pkg, err)
			}
			a.links[rel] = pkg
		case d.Type().IsRegular():
			if a.dirs[rel] {
				return fmt.Errorf("package %s: replaces directory %s with a file: %w", pkg, rel, ErrUnsafeTree)
			}
			_ = a.root.Remove(dst)
			delete(a.links, rel)
			if err := a.root.Link(path.Join(src, rel), dst); err != nil {
				return a.copy(sub, rel, dst)
			}
		default:
			return fmt.Errorf("package %s: %s is a %v, not a file, folder or link: %w", pkg, rel, d.Type(), ErrUnsafeTree)
		}
		return nil
	})
}

// copy is the fallback when hard links fail (the tree on another device).
func (a *assembler) copy(sub *os.Root, rel, dst string) error {
	in, err := sub.Open(rel)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := a.root.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, fi.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkTree is the last look at an assembled tree before it is recorded as
// complete: folders, regular files without set-id bits, and symlinks that
// resolve inside the tree (or nowhere) only.
func checkTree(tree *os.Root) error {
	return fs.WalkDir(tree.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		m := fi.Mode()
		switch {
		case m&(fs.ModeSetuid|fs.ModeSetgid) != 0:
			return fmt.Errorf("%s: set-id bit (%v): %w", p, m, ErrUnsafeTree)
		case m.IsDir(), m.IsRegular():
			return nil
		case m&fs.ModeSymlink != 0:
			// os.Root refuses to resolve a path out of the tree; a link to
			// something no package provides is harmless.
			if _, err := tree.Stat(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				l, _ := tree.Readlink(p)
				return fmt.Errorf("symlink %s -> %s: does not resolve inside the tree (%v): %w", p, l, err, ErrUnsafeTree)
			}
			return nil
		}
		return fmt.Errorf("%s: a %v, not a file, folder or link: %w", p, m.Type(), ErrUnsafeTree)
	})
}

// staleAfter is how old a temporary folder of the store must be before it
// is taken for one a crash left (an extraction or assembly takes minutes).
const staleAfter = 24 * time.Hour

// sweep removes the temporary folders a killed kdriver left in dir: they
// are never trusted (only a rename makes a folder complete), but they hold
// whole header trees.
func sweep(dir string, log *slog.Logger) {
	old, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	for _, p := range old {
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < staleAfter {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			log.Warn("stale temporary folder not removed", "path", p, "err", err)
		}
	}
}
