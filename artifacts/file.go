package artifacts

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// FileStore is a directory in the Falco layout (file:///dir), as published
// for an HTTP server: <dir>/<driver version>/<arch>/<file>, index.json,
// index.json.sig and .sha256 sidecars. It can be published to.
type FileStore struct {
	*layoutStore
	dir     string
	signKey ed25519.PrivateKey
}

// DirOf returns the directory of a file:// URL or a plain path.
func DirOf(repo string) (string, error) {
	if !strings.Contains(repo, "://") {
		return filepath.Abs(repo)
	}
	u, err := url.Parse(repo)
	if err != nil {
		return "", fmt.Errorf("repo %q: %w", repo, err)
	}
	if u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") {
		return "", fmt.Errorf("repo %q: want file:///absolute/dir", repo)
	}
	if u.Path == "" {
		return "", fmt.Errorf("repo %q: no directory", repo)
	}
	return filepath.Clean(u.Path), nil
}

// NewFileStore returns the store for file:///dir (or a plain directory path).
func NewFileStore(repo string, opts Options) (*FileStore, error) {
	dir, err := DirOf(repo)
	if err != nil {
		return nil, err
	}
	name := repo
	if !strings.Contains(repo, "://") {
		name = "file://" + dir
	}
	b := &fileBackend{dir: dir}
	return &FileStore{layoutStore: newLayoutStore(name, b, opts), dir: dir, signKey: opts.SignKey}, nil
}

type fileBackend struct{ dir string }

// checkName refuses path elements that would leave the store.
func checkName(what, s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") {
		return fmt.Errorf("%s %q: not a file name", what, s)
	}
	return nil
}

func (b *fileBackend) path(version, arch, file string) (string, error) {
	for _, c := range [][2]string{{"driver version", version}, {"arch", arch}, {"file", file}} {
		if err := checkName(c[0], c[1]); err != nil {
			return "", err
		}
	}
	return filepath.Join(b.dir, version, arch, file), nil
}

func (b *fileBackend) url(version, arch, file string) string {
	return "file://" + filepath.Join(b.dir, version, arch, file)
}

func (b *fileBackend) open(_ context.Context, version, arch, file string) (io.ReadCloser, int64, string, error) {
	u := b.url(version, arch, file)
	p, err := b.path(version, arch, file)
	if err != nil {
		return nil, -1, u, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, -1, u, fmt.Errorf("%w: no file %s", ErrNotFound, p)
	}
	if err != nil {
		return nil, -1, u, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, -1, u, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, -1, u, fmt.Errorf("%s: not a regular file", p)
	}
	return f, st.Size(), u, nil
}

// Push implements Pusher: the file, its .sha256 sidecar and the updated
// (and, with a sign key, signed) index, each written atomically.
func (s *FileStore) Push(ctx context.Context, e Entry, r io.Reader) (Descriptor, error) {
	d, err := s.push(ctx, e, r)
	if err != nil {
		return d, storeErr(s.Name(), err)
	}
	return d, nil
}

func (s *FileStore) push(ctx context.Context, e Entry, r io.Reader) (Descriptor, error) {
	b := s.b.(*fileBackend)
	p, err := b.path(e.DriverVersion, e.Arch, e.File)
	if err != nil {
		return Descriptor{}, err
	}
	d := Descriptor{Digest: "sha256:" + e.SHA256, Size: e.Size, Source: b.url(e.DriverVersion, e.Arch, e.File), Store: s.Name()}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return d, err
	}
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return d, err
	}
	defer unlock()
	removePublishParts(dir)
	// The digest is checked before the rename: a push that does not match
	// its entry leaves the published file as it was.
	_, _, err = writeFileAtomicChecked(p, 0o644, r, func(sum string, n int64) error {
		if sum != e.SHA256 || n != e.Size {
			return fmt.Errorf("%s: %w: read %d bytes sha256 %s, the entry says %d bytes sha256 %s", p, ErrIntegrity, n, sum, e.Size, e.SHA256)
		}
		return nil
	})
	if err != nil {
		return d, err
	}
	if _, _, err := writeFileAtomic(p+".sha256", 0o644, strings.NewReader(e.SHA256+"  "+e.File+"\n")); err != nil {
		return d, err
	}
	ix, err := s.readLocalIndex(e.DriverVersion, e.Arch)
	if err != nil {
		return d, err
	}
	ix.Put(e)
	return d, s.writeIndex(ix)
}

// readLocalIndex reads the directory's index without verifying it (the
// publisher rewrites and re-signs it); a missing index is an empty one.
func (s *FileStore) readLocalIndex(version, arch string) (*Index, error) {
	b := s.b.(*fileBackend)
	p, err := b.path(version, arch, IndexFile)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return &Index{Schema: IndexSchema, DriverVersion: version, Arch: arch}, nil
	}
	if err != nil {
		return nil, err
	}
	ix, err := ParseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return ix, nil
}

// writeIndex writes index.json and, with a sign key, index.json.sig. The
// old signature is removed first, so a reader never pairs a new index
// with an old signature it would accept.
func (s *FileStore) writeIndex(ix *Index) error {
	b := s.b.(*fileBackend)
	p, err := b.path(ix.DriverVersion, ix.Arch, IndexFile)
	if err != nil {
		return err
	}
	data, err := ix.Marshal()
	if err != nil {
		return err
	}
	sigPath := filepath.Join(filepath.Dir(p), SignatureFile)
	if err := os.Remove(sigPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if _, _, err := writeFileAtomic(p, 0o644, strings.NewReader(string(data))); err != nil {
		return err
	}
	if s.signKey != nil {
		if _, _, err := writeFileAtomic(sigPath, 0o644, strings.NewReader(string(SignIndex(s.signKey, data)))); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.indexes = map[[2]string]indexResult{}
	s.mu.Unlock()
	return nil
}

// Reindex rebuilds index.json of one driver version/arch folder from the
// artifacts in it: digests and sizes are recomputed; identity and build
// information come from the old index when it lists the file, else from
// the file name (driverName decides where the target starts). Files of
// other drivers not in the old index are skipped and returned.
func (s *FileStore) Reindex(ctx context.Context, driverName, version, arch string) (*Index, []string, error) {
	b := s.b.(*fileBackend)
	p, err := b.path(version, arch, IndexFile)
	if err != nil {
		return nil, nil, err
	}
	dir := filepath.Dir(p)
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	removePublishParts(dir)
	old, err := s.readLocalIndex(version, arch)
	if err != nil {
		return nil, nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	ix := &Index{Schema: IndexSchema, DriverVersion: version, Arch: arch}
	var skipped []string
	for _, de := range ents {
		name := de.Name()
		if !de.Type().IsRegular() || strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".ko") || strings.HasSuffix(name, ".o")) {
			continue
		}
		e, ok := old.Lookup(name)
		if !ok {
			id, err := ParseFileName(name, driverName)
			if err != nil {
				skipped = append(skipped, name)
				continue
			}
			id.DriverVersion, id.Arch = version, arch
			e = EntryFor(id)
		}
		sum, n, err := hashFile(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, err
		}
		e.SHA256, e.Size = sum, n
		ix.Put(e)
	}
	return ix, skipped, s.writeIndex(ix)
}

// Versions lists the driver version/arch folders of the store.
func (s *FileStore) Versions() ([][2]string, error) {
	var out [][2]string
	vs, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if !v.IsDir() {
			continue
		}
		as, err := os.ReadDir(filepath.Join(s.dir, v.Name()))
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if a.IsDir() {
				out = append(out, [2]string{v.Name(), a.Name()})
			}
		}
	}
	return out, nil
}

func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return hashReader(f)
}

func hashReader(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// writeFileAtomic writes r to a temporary file beside p, fsyncs it,
// renames it over p and fsyncs the directory; it returns the sha256 and size.
func writeFileAtomic(p string, mode os.FileMode, r io.Reader) (string, int64, error) {
	return writeFileAtomicChecked(p, mode, r, nil)
}

// writeFileAtomicChecked is writeFileAtomic that calls check with the
// sha256 and size before the rename; an error leaves p untouched.
func writeFileAtomicChecked(p string, mode os.FileMode, r io.Reader, check func(sum string, n int64) error) (string, int64, error) {
	dir := filepath.Dir(p)
	f, err := os.CreateTemp(dir, "."+filepath.Base(p)+".part-*")
	if err != nil {
		return "", 0, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if check != nil {
		if err := check(sum, n); err != nil {
			return sum, n, err
		}
	}
	if err := os.Rename(tmp, p); err != nil {
		return "", 0, err
	}
	return sum, n, syncDir(dir)
}

// removePublishParts removes temporary files a killed publisher left in a
// published folder (the web server would serve them). Only the holder of
// the folder's lock writes there, so under the lock every one is stale.
func removePublishParts(dir string) {
	parts, _ := filepath.Glob(filepath.Join(dir, ".*.part-*"))
	for _, p := range parts {
		os.Remove(p)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
