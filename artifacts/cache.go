package artifacts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Progress reports a download's advance. Total is -1 when unknown.
type Progress struct {
	ID     ID
	Source string
	Done   int64
	Total  int64
}

// Cache keeps verified artifacts on disk. Every file in it has a
// <file>.sha256 record written after the file was verified and renamed
// into place; a file without a matching record is never used.
type Cache struct {
	// Dir is the cache root: <Dir>/<driver version>/<arch>/<file>.
	Dir string
	// Flat puts files directly in Dir (kdriver fetch --output-dir).
	Flat bool
	// Logger receives debug messages; nil is silent.
	Logger *slog.Logger
}

// FetchOptions tune one Cache.Fetch.
type FetchOptions struct {
	// SHA256 is a digest the caller expects (hex); it must match.
	SHA256 string
	// RequireDigest refuses artifacts for which the store publishes no
	// digest (no index entry, no sidecar, not OCI). Without it such an
	// artifact is accepted if its size matches and it is an ELF file, and a
	// warning is logged.
	RequireDigest bool
	// Progress, when set, is called as bytes arrive (from the fetching
	// goroutine; keep it quick).
	Progress func(Progress)
	// Check, when set, vets the verified bytes for the host (a kernel
	// module's arch and vermagic) before they are cached, and a cached file
	// before it counts as a hit. A download that fails it is not cached and
	// the next store is tried; a cached file that fails it is a miss.
	Check CheckFunc
}

// CheckFunc vets an artifact of size bytes read through r; name labels
// errors.
type CheckFunc func(name string, r io.ReaderAt, size int64) error

// Result is a verified artifact on disk.
type Result struct {
	Path   string     `json:"path"`
	SHA256 string     `json:"sha256"`
	Size   int64      `json:"size"`
	Cached bool       `json:"cached"` // already in the cache, not downloaded
	From   Descriptor `json:"from,omitzero"`
}

func (c *Cache) log() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Path is where the artifact lives in the cache.
func (c *Cache) Path(id ID) (string, error) {
	for _, p := range [][2]string{{"driver version", id.DriverVersion}, {"arch", id.Arch}, {"file", id.FileName()}} {
		if err := checkName(p[0], p[1]); err != nil {
			return "", err
		}
	}
	if c.Flat {
		return filepath.Join(c.Dir, id.FileName()), nil
	}
	return filepath.Join(c.Dir, id.DriverVersion, id.Arch, id.FileName()), nil
}

// Lookup returns the cached artifact if its file matches its record (and
// want, if given); ErrNotFound otherwise.
func (c *Cache) Lookup(id ID, want string) (Result, error) {
	p, err := c.Path(id)
	if err != nil {
		return Result{}, err
	}
	return c.check(p, id, want, nil)
}

// Cached returns the artifact if the cache holds it verified (and matching
// o.SHA256) and, when a store of s has an index key, a signed index of
// that store lists its digest; ErrNotFound otherwise. It downloads no
// artifact (it may read the stores' indexes). s may be nil: no store.
func (c *Cache) Cached(ctx context.Context, s Store, id ID, o FetchOptions) (Result, error) {
	want, p, err := c.target(id, o)
	if err != nil {
		return Result{}, err
	}
	return c.hit(ctx, s, p, id, want, o.Check)
}

// Open opens the cached artifact for reading and verifies it through that
// descriptor: it hashes to its record (and to sha256, when given) and passes
// chk. Reading, preflighting and loading f then use the bytes verified,
// even if the path is replaced meanwhile. ErrNotFound when it does not
// verify. The caller closes f.
func (c *Cache) Open(id ID, sha256 string, chk CheckFunc) (*os.File, Result, error) {
	want := ""
	if sha256 != "" {
		var err error
		if want, err = parseHexDigest(sha256); err != nil {
			return nil, Result{}, err
		}
	}
	p, err := c.Path(id)
	if err != nil {
		return nil, Result{}, err
	}
	f, r, err := c.open(p, id, want, chk)
	if err != nil {
		return nil, r, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, r, err
	}
	return f, r, nil
}

// hit is check plus the index keys of s: with a key, bytes cached earlier
// (fetched without a key, or from another store) count only if a signed
// index lists them.
func (c *Cache) hit(ctx context.Context, s Store, p string, id ID, want string, chk CheckFunc) (Result, error) {
	r, err := c.check(p, id, want, chk)
	if err != nil || s == nil || r.From.Local {
		// A build of this host's was never anyone's download.
		return r, err
	}
	d, err := signedHit(ctx, s, id, r.SHA256, r.Size)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		c.log().Warn("cached artifact is not listed by a signed index; not using it", "path", p, "err", err)
		return Result{}, ErrNotFound
	}
	r.From = d
	return r, nil
}

func (c *Cache) check(p string, id ID, want string, chk CheckFunc) (Result, error) {
	f, r, err := c.open(p, id, want, chk)
	if err != nil {
		return r, err
	}
	f.Close()
	return r, nil
}

// open opens the cached file once and, through that descriptor, hashes it
// against its record and runs chk: what was checked is what the caller
// reads, whatever happens to the path meanwhile.
func (c *Cache) open(p string, id ID, want string, chk CheckFunc) (*os.File, Result, error) {
	if err := c.checkDirs(p); err != nil {
		return nil, Result{}, err
	}
	rec, err := os.ReadFile(p + ".sha256")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Result{}, ErrNotFound
	}
	if err != nil {
		return nil, Result{}, err
	}
	recorded, err := parseSidecar(rec)
	if err != nil {
		// Records are written without fsync: after a crash one may be
		// empty or torn. Download again rather than fail.
		c.log().Warn("unreadable cache record; downloading again", "path", p+".sha256", "err", err)
		return nil, Result{}, ErrNotFound
	}
	if want != "" && want != recorded {
		return nil, Result{}, ErrNotFound
	}
	// File names carry no driver version: in a flat --output-dir, a file of
	// another version must not pass for this one.
	if !strings.Contains(string(rec), "\n"+recordID(id)) {
		return nil, Result{}, ErrNotFound
	}
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ELOOP) {
		return nil, Result{}, ErrNotFound
	}
	if err != nil {
		return nil, Result{}, err
	}
	sum, n, err := hashReader(f)
	if err == nil {
		var st os.FileInfo
		if st, err = f.Stat(); err == nil && !st.Mode().IsRegular() {
			f.Close()
			return nil, Result{}, ErrNotFound
		}
	}
	if err != nil {
		f.Close()
		return nil, Result{}, err
	}
	if sum != recorded {
		f.Close()
		c.log().Warn("cached artifact does not match its recorded digest; downloading again", "path", p, "recorded", recorded, "actual", sum)
		return nil, Result{}, ErrNotFound
	}
	if chk != nil {
		if err := chk(filepath.Base(p), f, n); err != nil {
			f.Close()
			c.log().Warn("cached artifact does not fit this host; downloading again", "path", p, "err", err)
			return nil, Result{}, ErrNotFound
		}
	}
	r := Result{Path: p, SHA256: sum, Size: n, Cached: true}
	if strings.HasSuffix(string(rec), "\n"+localRecord) {
		r.From = Descriptor{Digest: "sha256:" + sum, Size: n, Local: true}
	}
	return f, r, nil
}

// Fetch returns the artifact from the cache if it verifies there, else
// downloads it from s (trying each member of a MultiStore in order, and
// the next one when bytes fail verification), verifies size and digest,
// and renames it into place. Concurrent fetches of one artifact, in this
// or other processes, serialise on a lock file and all succeed.
func (c *Cache) Fetch(ctx context.Context, s Store, id ID, o FetchOptions) (Result, error) {
	want, p, err := c.target(id, o)
	if err != nil {
		return Result{}, err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, fmt.Errorf("cache: %w", err)
	}
	if err := c.checkDirs(p); err != nil {
		return Result{}, err
	}
	// A flat --output-dir is the user's: lock the directory, leave no file.
	lk := func() (func(), error) { return lockFile(ctx, p+".lock") }
	if c.Flat {
		lk = func() (func(), error) { return lockDir(ctx, dir) }
	}
	unlock, err := lk()
	if err != nil {
		return Result{}, fmt.Errorf("cache: %w", err)
	}
	defer unlock()
	// We hold the lock: any temporary file for this artifact was left by a
	// killed fetch. Remove it now, hit or miss, so that no run keeps its
	// blocks.
	c.removeParts(p)

	if r, err := c.hit(ctx, s, p, id, want, o.Check); err == nil {
		c.log().Debug("cache hit", "path", p)
		return r, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Result{}, fmt.Errorf("cache: %w", err)
	}
	os.Remove(p + ".sha256") // the stale record

	stores := []Store{s}
	if m, ok := s.(*MultiStore); ok {
		stores = m.Stores
	}
	fe := &FetchError{ID: id}
	for _, st := range stores {
		r, err := c.download(ctx, st, id, p, want, o)
		if err == nil {
			return r, nil
		}
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		fe.add(st.Name(), err)
	}
	return Result{}, fe
}

// removeParts removes the temporary files of the artifact and of its record.
func (c *Cache) removeParts(p string) {
	dir, base := filepath.Dir(p), filepath.Base(p)
	olds, _ := filepath.Glob(filepath.Join(dir, "."+base+".part-*"))
	recs, _ := filepath.Glob(filepath.Join(dir, "."+base+".sha256.part-*"))
	for _, o := range append(olds, recs...) {
		c.log().Debug("removing partial download", "path", o)
		os.Remove(o)
	}
}

// MaxArtifactSize bounds a download, whatever the server claims: driver
// artifacts are a few megabytes.
const MaxArtifactSize = 512 << 20

// elfMagic starts every kernel module and BPF object.
var elfMagic = []byte("\x7fELF")

func (c *Cache) download(ctx context.Context, s Store, id ID, p, want string, o FetchOptions) (Result, error) {
	rc, d, err := s.Fetch(ctx, id)
	if err != nil {
		return Result{}, err
	}
	defer rc.Close()
	fail := func(err error) (Result, error) {
		return Result{}, storeErr(s.Name(), fmt.Errorf("%s: %w", d.Source, err))
	}

	published := ""
	if d.Digest != "" {
		if published, err = parseHexDigest(d.Digest); err != nil {
			return fail(err)
		}
	}
	if published == "" && o.RequireDigest && want == "" {
		return fail(fmt.Errorf("%w: the store publishes no digest (no index entry, no .sha256 sidecar); publish an index or drop --require-digest", ErrIntegrity))
	}
	if published != "" && want != "" && published != want {
		return fail(fmt.Errorf("%w: the store publishes sha256 %s, expected %s", ErrIntegrity, published, want))
	}

	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".part-*")
	if err != nil {
		return Result{}, fmt.Errorf("cache: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	h := sha256.New()
	pw := &progressWriter{p: Progress{ID: id, Source: d.Source, Total: d.Size}, fn: o.Progress}
	// Nothing is reserved ahead (no fallocate of the size the server
	// claims): the file holds only what arrived, and reading stops one byte
	// past the published size and past MaxArtifactSize.
	limit := int64(MaxArtifactSize)
	if d.Size >= 0 && d.Size < limit {
		limit = d.Size
	}
	src := io.LimitReader(rc, limit+1) // one more byte reveals an oversized body
	// No fsync, neither of this file nor of the record (see the comment on
	// writeRecord): nothing here is trusted after a crash unless it hashes to
	// its record again, so a torn or lost write costs a download, never a
	// wrong file.
	n, err := copyHashing(f, h, pw, src)
	if err == nil && n > MaxArtifactSize {
		err = fmt.Errorf("%w: larger than %d bytes: not a driver", ErrIntegrity, int64(MaxArtifactSize))
	}
	if err != nil {
		f.Close()
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		if errors.Is(err, unix.ENOSPC) {
			return Result{}, fmt.Errorf("cache: %s: %w (free space in %s or choose another cache directory)", filepath.Base(p), err, filepath.Dir(p))
		}
		return fail(err)
	}
	sum, err := c.vet(f, filepath.Base(p), n, h, d, published, want, o.Check)
	if cerr := f.Close(); err == nil && cerr != nil {
		return Result{}, fmt.Errorf("cache: %w", cerr)
	}
	if err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return Result{}, fmt.Errorf("cache: %w", err)
	}
	// The record comes last: a file without one is not trusted.
	rec := sum + "  " + filepath.Base(p) + "\n" + recordID(id)
	if d.Local {
		rec += localRecord
	}
	if err := writeRecord(p+".sha256", rec); err != nil {
		return Result{}, fmt.Errorf("cache: %w", err)
	}
	return Result{Path: p, SHA256: sum, Size: n, From: d}, nil
}

// vet checks the n bytes written to f (hashed into h) against what the
// store publishes and what the caller wants, then runs chk on them; it
// returns the sha256. f is read, not reopened: the bytes checked are the
// bytes that get renamed into place.
func (c *Cache) vet(f *os.File, name string, n int64, h hash.Hash, d Descriptor, published, want string, chk CheckFunc) (string, error) {
	sum := hex.EncodeToString(h.Sum(nil))
	if d.Size >= 0 && n != d.Size {
		return "", fmt.Errorf("%w: got %d bytes, expected %d (truncated or wrong file)", ErrIntegrity, n, d.Size)
	}
	if err := checkELF(f); err != nil {
		return "", err
	}
	switch {
	case published != "" && sum != published:
		return "", fmt.Errorf("%w: got %d bytes with sha256 %s, the store publishes sha256 %s", ErrIntegrity, n, sum, published)
	case want != "" && sum != want:
		return "", fmt.Errorf("%w: got %d bytes with sha256 %s, expected %s", ErrIntegrity, n, sum, want)
	}
	if chk != nil {
		if err := chk(name, f, n); err != nil {
			return "", fmt.Errorf("does not fit this host, not cached: %w", err)
		}
	}
	if published == "" && want == "" {
		c.log().Warn("the store publishes no digest for this artifact: only its size and ELF header were checked", "source", d.Source, "sha256", sum)
	}
	if err := f.Chmod(0o644); err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	return sum, nil
}

// recordID is the record's second line: what the file is.
// localRecord ends the record of bytes made on this host (Descriptor.Local).
const localRecord = "# built on this host\n"

func recordID(id ID) string {
	return "# " + id.DriverVersion + " " + id.Arch + "\n"
}

func checkELF(r io.ReaderAt) error {
	head := make([]byte, 512)
	k, _ := r.ReadAt(head, 0)
	head = head[:k]
	if bytes.HasPrefix(head, elfMagic) {
		return nil
	}
	what := "not an ELF object"
	if l := bytes.ToLower(bytes.TrimSpace(head)); bytes.HasPrefix(l, []byte("<!doctype html")) || bytes.HasPrefix(l, []byte("<html")) {
		what = "an HTML page, not a driver: check the repo URL and any proxy"
	}
	return fmt.Errorf("%w: %s", ErrIntegrity, what)
}

type progressWriter struct {
	p  Progress
	fn func(Progress)
}

func (w *progressWriter) Write(b []byte) (int, error) {
	if w.fn != nil {
		w.p.Done += int64(len(b))
		w.fn(w.p)
	}
	return len(b), nil
}

// Download buffers: large reads mean few write syscalls and few hash
// calls; several of them let the network read and the file write of one
// chunk overlap with the hashing of the previous ones.
const (
	chunkSize = 1 << 20
	chunks    = 4
)

// copyHashing copies src to f and into h, in one pass over the bytes: this
// goroutine reads a chunk and writes it to the file while another hashes
// the chunks before it (on a machine with a spare core the sha256 then
// costs almost no wall time; on one core it costs what hashing inline
// would). It returns the number of bytes copied.
func copyHashing(f io.Writer, h hash.Hash, pw *progressWriter, src io.Reader) (int64, error) {
	toHash := make(chan []byte, chunks)
	free := make(chan []byte, chunks)
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		for b := range toHash {
			h.Write(b)
			free <- b[:cap(b)]
		}
	}()
	var (
		n     int64
		err   error
		alloc int
	)
	for {
		var buf []byte
		select {
		case buf = <-free:
		default:
			if alloc < chunks {
				alloc++
				buf = make([]byte, chunkSize)
			} else {
				buf = <-free
			}
		}
		k, rerr := io.ReadFull(src, buf)
		if k > 0 {
			if _, werr := f.Write(buf[:k]); werr != nil {
				err = werr
				break
			}
			n += int64(k)
			pw.Write(buf[:k])
			toHash <- buf[:k]
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			err = rerr
			break
		}
	}
	close(toHash)
	<-hashed
	return n, err
}

// writeRecord writes the record to a temporary file and renames it into
// place, without fsync. A crash may lose the record or leave it empty or
// torn; check then treats the artifact as not cached and downloads it
// again, which is also all that an fsync of the artifact itself would have
// saved. The reverse can not happen: a record is only ever written for
// bytes that were verified, and a file is used only if it hashes to its
// record, so no ordering of writes reaching the disk lets a wrong file
// through. Skipping the fsyncs keeps a 100 MB fetch from waiting for the
// disk (about 50 ms on the benchmark machine, see docs/benchmarks.md).
func writeRecord(p, rec string) error {
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".part-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	_, err = f.WriteString(rec)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// target returns the digest o asks for ("" when none) and the artifact's
// path in the cache.
func (c *Cache) target(id ID, o FetchOptions) (want, path string, err error) {
	if o.SHA256 != "" {
		if want, err = parseHexDigest(o.SHA256); err != nil {
			return "", "", err
		}
	}
	path, err = c.Path(id)
	return want, path, err
}
