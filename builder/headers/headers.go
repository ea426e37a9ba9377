// Package headers turns a matrix target's packages into a kernel build tree
// (KDIR): each package downloaded once into a content-addressed cache and
// checked against its SHA256, extracted once per digest, and the trees of a
// target assembled with hard links into one root whose KDIR builds modules
// with `make -C KDIR M=…` anywhere it is mounted.
package headers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/kdriver/kdriver/builder/download"
	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/kdriver/kdriver/builder/unpack"
)

// ErrNoKDIR is returned when the packages hold no tree for the release.
var ErrNoKDIR = errors.New("no kernel build tree in the packages")

// Store keeps downloads, extracted packages and assembled trees under Dir:
//
//	Dir/sha256/<digest>       verified package files
//	Dir/pkgs/<digest>/        one package extracted
//	Dir/trees/<key>/          one target's assembled root
type Store struct {
	Dir    string
	Cache  *download.Cache
	Logger *slog.Logger

	mu    sync.Mutex
	locks map[string]*sync.Mutex // per digest: one extraction at a time
}

// lock serialises work on one digest within this process (across processes
// the atomic renames keep the cache consistent).
func (s *Store) lock(key string) func() {
	s.mu.Lock()
	if s.locks == nil {
		s.locks = map[string]*sync.Mutex{}
	}
	l, ok := s.locks[key]
	if !ok {
		l = &sync.Mutex{}
		s.locks[key] = l
	}
	s.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Tree is an assembled kernel build tree.
type Tree struct {
	Root string // the assembled root (usr/src/… below it)
	KDIR string // absolute path of the tree to pass to make -C
	Key  string // digest of the packages the tree is made of
}

// RelKDIR is KDIR relative to Root (for mounting Root elsewhere).
func (t *Tree) RelKDIR() string {
	r, _ := filepath.Rel(t.Root, t.KDIR)
	return r
}

// Packages returns the packages a target's tree is made of: for a cross
// build the host's kbuild helpers replace the target arch's.
func Packages(t matrix.Target) []matrix.Package {
	cross := len(t.ByRole(matrix.RoleHostKbuild)) > 0
	var out []matrix.Package
	for _, p := range t.Packages {
		if cross && p.Role == matrix.RoleKbuild {
			continue
		}
		out = append(out, p)
	}
	return out
}

// Key is the digest of a target's tree: its packages' digests and roles.
func Key(t matrix.Target) string {
	var lines []string
	for _, p := range Packages(t) {
		lines = append(lines, p.Role+" "+p.SHA256)
	}
	sort.Strings(lines)
	h := sha256.Sum256([]byte("tree v3\n" + t.KernelRelease + "\n" + strings.Join(lines, "\n")))
	return hex.EncodeToString(h[:])
}

// include selects what a build needs from header packages: the source
// trees and the kbuild helpers, not /lib/modules links or docs.
func include(name string) bool {
	return strings.HasPrefix(name, "usr/src/") || strings.HasPrefix(name, "usr/lib/linux-kbuild-") ||
		strings.HasPrefix(name, "lib/linux-kbuild-")
}

// complete marks a finished folder of the store; its content says which
// checks the folder passed, so that folders an older kdriver made with
// fewer checks are made again rather than trusted.
const (
	complete     = ".kdriver-complete"
	extractedTag = "extract v2\n"
)

// Tree returns the target's assembled tree, building it on a miss.
func (s *Store) Tree(ctx context.Context, t matrix.Target) (*Tree, error) {
	key := Key(t)
	defer s.lock("tree " + key)()
	base, err := filepath.Abs(s.Dir) // the tree is used from other folders
	if err != nil {
		return nil, err
	}
	final := filepath.Join(base, "trees", key)
	tree := &Tree{Root: final, Key: key}
	if _, err := os.Stat(filepath.Join(final, complete)); err == nil {
		return tree, tree.findKDIR(t)
	}
	pkgs := Packages(t)
	for _, p := range pkgs {
		if err := s.extract(ctx, p); err != nil {
			return nil, fmt.Errorf("target %s: %w", t.Name, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, err
	}
	sweep(filepath.Dir(final), s.log())
	tmp, err := os.MkdirTemp(filepath.Dir(final), ".tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	root, err := os.OpenRoot(base)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	a := newAssembler(root, path.Join("trees", filepath.Base(tmp)))
	for _, p := range pkgs {
		if err := a.add(path.Join("pkgs", p.SHA256), p.Name); err != nil {
			return nil, fmt.Errorf("target %s: assemble: %w", t.Name, err)
		}
	}
	tr, err := root.OpenRoot(a.dst)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	if err := fixMakefiles(tr); err != nil {
		return nil, fmt.Errorf("target %s: %w", t.Name, err)
	}
	// Recorded complete only once the whole tree is checked.
	if err := checkTree(tr); err != nil {
		return nil, fmt.Errorf("target %s: %w", t.Name, err)
	}
	if err := tr.WriteFile(complete, []byte(key+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Stat(filepath.Join(final, complete)); serr != nil {
			return nil, err
		} // another build assembled it first
	}
	s.log().Debug("tree assembled", "target", t.Name, "key", key[:12])
	return tree, tree.findKDIR(t)
}

func (s *Store) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// extract makes Dir/pkgs/<digest> hold package p extracted, verified
// download and extraction both cached by digest.
func (s *Store) extract(ctx context.Context, p matrix.Package) error {
	if !download.ValidDigest(p.SHA256) { // it names folders of the store
		return fmt.Errorf("package %s: sha256 %q: %w", p.Name, p.SHA256, download.ErrDigest)
	}
	defer s.lock("pkg " + p.SHA256)()
	dir := filepath.Join(s.Dir, "pkgs", p.SHA256)
	if b, err := os.ReadFile(filepath.Join(dir, complete)); err == nil {
		if string(b) == extractedTag {
			return nil
		}
		// Extracted by an older kdriver, with fewer checks: do it again.
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	file, hit, err := s.Cache.Get(ctx, p.URL, download.Want{Size: p.Size, SHA256: p.SHA256})
	if err != nil {
		return fmt.Errorf("package %s: %w", p.Name, err)
	}
	s.log().Debug("package", "name", p.Name, "cached", hit)
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	sweep(filepath.Dir(dir), s.log())
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	opts := unpack.Options{Include: include}
	if strings.HasSuffix(p.URL, ".rpm") {
		_, err = unpack.RPM(ctx, f, tmp, opts)
	} else {
		_, err = unpack.Deb(ctx, f, tmp, opts)
	}
	if err != nil {
		return fmt.Errorf("package %s: %w", p.Name, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, complete), []byte(extractedTag), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, complete)); serr != nil {
			return err
		}
	}
	return nil
}

var absSrc = regexp.MustCompile(`/usr/src/([A-Za-z0-9._+~-]+)`)

// fixMakefiles rewrites the absolute /usr/src/<dir> paths in each
// usr/src/*/Makefile (Debian's "include /usr/src/<common>/Makefile", and from
// 7.x "KBUILD_OUTPUT=/usr/src/<flavour>") to paths relative to the tree: make
// -C KDIR runs in usr/src/<flavour>, so "../<dir>" names the same folder
// wherever the tree is, and the host's /usr/src is never read. Only real
// folders and files are rewritten, through the tree's root.
func fixMakefiles(tree *os.Root) error {
	ents, err := fs.ReadDir(tree.FS(), "usr/src")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		mk := path.Join("usr/src", e.Name(), "Makefile")
		if fi, err := tree.Lstat(mk); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		b, err := tree.ReadFile(mk)
		if err != nil {
			return err
		}
		if !absSrc.Match(b) {
			continue
		}
		var missing error
		out := absSrc.ReplaceAllFunc(b, func(m []byte) []byte {
			dir := path.Clean(string(absSrc.FindSubmatch(m)[1]))
			if fi, err := tree.Stat(path.Join("usr/src", dir)); err != nil || !fi.IsDir() || dir == ".." {
				missing = fmt.Errorf("%s names /usr/src/%s, which no package provides: %w", mk, dir, ErrNoKDIR)
			}
			return []byte("../" + dir)
		})
		if missing != nil {
			return missing
		}
		// The file is a hard link into the package cache: replace, never edit.
		if err := tree.Remove(mk); err != nil {
			return err
		}
		if err := tree.WriteFile(mk, out, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tree) findKDIR(target matrix.Target) error {
	for _, c := range []string{
		"usr/src/linux-headers-" + target.KernelRelease, // Debian, Ubuntu
		"usr/src/kernels/" + target.KernelRelease,       // RPM distros
	} {
		d := filepath.Join(t.Root, c)
		if _, err := os.Stat(filepath.Join(d, "Makefile")); err == nil {
			t.KDIR = d
			return nil
		}
	}
	return fmt.Errorf("target %s: release %s: %w", target.Name, target.KernelRelease, ErrNoKDIR)
}
