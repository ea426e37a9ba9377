package artifacts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrUnsafeCache: the cache directory can be written by other users, who
// could then put a module and a matching record there for root to load.
var ErrUnsafeCache = errors.New("cache directory writable by other users")

// checkDirs refuses a cache whose directories, from Dir down to the folder
// of p, are writable by group or others, or owned by another user (root
// excepted). The record proves only that bytes were verified if no one
// else can write them.
func (c *Cache) checkDirs(p string) error {
	root := filepath.Clean(c.Dir)
	rel, err := filepath.Rel(root, filepath.Dir(p))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("cache: %s is outside %s", p, root)
	}
	dirs := []string{root}
	if rel != "." {
		d := root
		for _, el := range strings.Split(rel, string(filepath.Separator)) {
			d = filepath.Join(d, el)
			dirs = append(dirs, d)
		}
	}
	euid := os.Geteuid()
	for _, d := range dirs {
		st, err := os.Lstat(d)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // created later by Fetch, 0755
		}
		if err != nil {
			return fmt.Errorf("cache: %w", err)
		}
		if d != root && !st.IsDir() { // root may be a symlink the admin made
			return fmt.Errorf("cache: %s: %w: not a directory", d, ErrUnsafeCache)
		}
		if d == root {
			if st, err = os.Stat(d); err != nil {
				return fmt.Errorf("cache: %w", err)
			}
		}
		sys, _ := st.Sys().(*syscall.Stat_t)
		if st.Mode().Perm()&0o022 != 0 || (sys != nil && int(sys.Uid) != euid && sys.Uid != 0) {
			return fmt.Errorf("cache: %s (mode %v): %w: use a directory only this user can write (chmod go-w, or --cache-dir)", d, st.Mode().Perm(), ErrUnsafeCache)
		}
	}
	return nil
}
