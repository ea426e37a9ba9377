package kit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing/fstest"

	"github.com/kdriver/kdriver/builder/unpack"
)

// Options name what a kit's files do not say: a libs driver/ tree's
// configure step needs the driver's name, version and device name.
type Options struct {
	Name    string // driver and module name (libs default: scap)
	Version string // driver version (libs: required)
	Device  string // device name (default: Name)
	TmpDir  string // where a .deb is unpacked (default os.TempDir())
}

// maxSource bounds a kit's source read into memory (the libs driver is
// about 2 MB).
const maxSource = 64 << 20

// Open reads the kit at p: a .deb holding a DKMS tree under
// usr/src/<name>-<version>, a folder with dkms.conf, or a falcosecurity/libs
// driver/ tree (configured with o). Anything else wraps ErrNotKit.
func Open(ctx context.Context, p string, o Options) (*Kit, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("kit %s: %w", p, err)
	}
	if !st.IsDir() {
		if strings.HasSuffix(p, ".deb") {
			return FromDeb(ctx, p, o)
		}
		return nil, fmt.Errorf("kit %s: %w: want a .deb or a folder", p, ErrNotKit)
	}
	src, err := ReadTree(p)
	if err != nil {
		return nil, err
	}
	if _, err := fs.Stat(src, "dkms.conf"); err == nil {
		return FromDKMS(src, p)
	}
	if IsLibsDriver(src) {
		return ConfigureLibs(src, p, o)
	}
	return nil, fmt.Errorf("kit %s: %w: no dkms.conf, and not a libs driver/ tree (driver_config.h.in, Makefile.in)", p, ErrNotKit)
}

// ReadTree reads the regular files of dir into memory, through os.Root so
// that no symlink leads out of it; symlinks are left out.
func ReadTree(dir string) (fstest.MapFS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("kit %s: %w", dir, err)
	}
	defer root.Close()
	m := fstest.MapFS{}
	var total int64
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := fs.ReadFile(root.FS(), p)
		if err != nil {
			return err
		}
		if total += int64(len(b)); total > maxSource {
			return fmt.Errorf("more than %d bytes: %w", maxSource, ErrBadKit)
		}
		m[p] = &fstest.MapFile{Data: b, Mode: 0o644}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kit %s: %w", dir, err)
	}
	return m, nil
}

// FromDeb unpacks a .deb (with kdriver's own, path-checked unpacker) and
// makes a kit of the one DKMS tree under usr/src/<name>-<version>.
func FromDeb(ctx context.Context, file string, o Options) (*Kit, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("kit %s: %w", file, err)
	}
	defer f.Close()
	tmp, err := os.MkdirTemp(o.TmpDir, "kdriver-kit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	inSrc := func(name string) bool {
		return name == "usr" || name == "usr/src" || strings.HasPrefix(name, "usr/src/")
	}
	if _, err := unpack.Deb(ctx, f, tmp, unpack.Options{MaxBytes: maxSource, Include: inSrc}); err != nil {
		return nil, fmt.Errorf("kit %s: %w", file, err)
	}
	ents, err := os.ReadDir(path.Join(tmp, "usr", "src"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("kit %s: %w", file, err)
	}
	var trees []string
	for _, e := range ents {
		if _, err := os.Stat(path.Join(tmp, "usr", "src", e.Name(), "dkms.conf")); e.IsDir() && err == nil {
			trees = append(trees, e.Name())
		}
	}
	if len(trees) != 1 {
		return nil, fmt.Errorf("kit %s: %w: want one usr/src/<name>-<version> with dkms.conf, found %d", file, ErrNotKit, len(trees))
	}
	src, err := ReadTree(path.Join(tmp, "usr", "src", trees[0]))
	if err != nil {
		return nil, err
	}
	k, err := FromDKMS(src, path.Base(file)+":/usr/src/"+trees[0])
	if err != nil {
		return nil, err
	}
	if trees[0] != k.Name+"-"+k.Version {
		return nil, fmt.Errorf("kit %s: usr/src/%s holds %s %s: DKMS wants usr/src/%s-%s: %w",
			file, trees[0], k.Name, k.Version, k.Name, k.Version, ErrBadKit)
	}
	return k, nil
}
