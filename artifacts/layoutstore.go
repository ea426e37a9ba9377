package artifacts

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
)

// backend reads files of the Falco layout: <version>/<arch>/<file>.
type backend interface {
	// open returns the file, its size (-1 when unknown) and its URL.
	// A missing file returns an error matching ErrNotFound.
	open(ctx context.Context, version, arch, file string) (io.ReadCloser, int64, string, error)
	// url is the file's URL, for messages.
	url(version, arch, file string) string
}

// maxIndexSize bounds what is read for an index; maxSmallSize for a
// signature or a .sha256 sidecar (one line each), so a server streaming
// without end costs a few kilobytes, not 64 MiB of memory per file.
const (
	maxIndexSize = 64 << 20
	maxSmallSize = 4096
)

// layoutStore is the logic HTTP and file stores share: digests from the
// index (signed when keys are configured) or from .sha256 sidecars, and
// explained misses.
type layoutStore struct {
	repo string
	b    backend
	keys []ed25519.PublicKey
	log  *slog.Logger

	mu      sync.Mutex
	indexes map[[2]string]indexResult
}

type indexResult struct {
	ix     *Index
	signed bool
	err    error
}

func newLayoutStore(repo string, b backend, opts Options) *layoutStore {
	return &layoutStore{repo: trimSlash(repo), b: b, keys: opts.IndexKeys, log: opts.logger(), indexes: map[[2]string]indexResult{}}
}

func (s *layoutStore) Name() string { return s.repo }

// Index returns the store's index for a driver version and arch, verified
// when keys are configured; ErrNotFound when there is none.
func (s *layoutStore) Index(ctx context.Context, version, arch string) (*Index, error) {
	r := s.index(ctx, version, arch)
	return r.ix, r.err
}

func (s *layoutStore) index(ctx context.Context, version, arch string) indexResult {
	key := [2]string{version, arch}
	s.mu.Lock()
	r, ok := s.indexes[key]
	s.mu.Unlock()
	if ok {
		return r
	}
	r = s.loadIndex(ctx, version, arch)
	if ctx.Err() == nil {
		s.mu.Lock()
		s.indexes[key] = r
		s.mu.Unlock()
	}
	return r
}

func (s *layoutStore) loadIndex(ctx context.Context, version, arch string) indexResult {
	u := s.b.url(version, arch, IndexFile)
	data, err := readSmall(ctx, s.b, version, arch, IndexFile, maxIndexSize)
	if err != nil {
		return indexResult{err: fmt.Errorf("%s: %w", u, err)}
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '<' {
		return indexResult{err: fmt.Errorf("%s: got an HTML page, not an index: check the repo URL and any proxy", u)}
	}
	signed := false
	if len(s.keys) > 0 {
		sig, err := readSmall(ctx, s.b, version, arch, SignatureFile, maxSmallSize)
		if errors.Is(err, ErrNotFound) {
			return indexResult{err: fmt.Errorf("%s: %w: no %s beside it; an index key is configured, so unsigned indexes are refused", u, ErrSignature, SignatureFile)}
		}
		if err != nil {
			return indexResult{err: fmt.Errorf("%s: %w", s.b.url(version, arch, SignatureFile), err)}
		}
		if err := VerifyIndex(s.keys, data, sig); err != nil {
			return indexResult{err: fmt.Errorf("%s: %w", u, err)}
		}
		signed = true
	}
	ix, err := ParseIndex(data)
	if err != nil {
		return indexResult{err: fmt.Errorf("%s: %w", u, err)}
	}
	if ix.DriverVersion != version || ix.Arch != arch {
		return indexResult{err: fmt.Errorf("%s: %w: index is for %s/%s, not %s/%s", u, ErrIntegrity, ix.DriverVersion, ix.Arch, version, arch)}
	}
	return indexResult{ix: ix, signed: signed}
}

func readSmall(ctx context.Context, b backend, version, arch, file string, limit int64) ([]byte, error) {
	rc, size, _, err := b.open(ctx, version, arch, file)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > limit {
		return nil, fmt.Errorf("%s: %w: %d bytes, more than the %d allowed", file, ErrIntegrity, size, limit)
	}
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", file, ErrIntegrity, limit)
	}
	return data, nil
}

// Fetch implements Store.
func (s *layoutStore) Fetch(ctx context.Context, id ID) (io.ReadCloser, Descriptor, error) {
	rc, d, err := s.fetch(ctx, id)
	if err != nil {
		if ctx.Err() != nil {
			return nil, d, ctx.Err()
		}
		return nil, d, storeErr(s.repo, err)
	}
	return rc, d, nil
}

func (s *layoutStore) fetch(ctx context.Context, id ID) (io.ReadCloser, Descriptor, error) {
	file := id.FileName()
	d := Descriptor{Size: -1, Store: s.repo, Source: s.b.url(id.DriverVersion, id.Arch, file)}
	r := s.index(ctx, id.DriverVersion, id.Arch)
	switch {
	case r.err == nil:
	case (errors.Is(r.err, ErrNotFound) || isDenied(r.err)) && len(s.keys) == 0:
		// Plain Falco mirrors have no index (S3 may answer 403 for it).
		s.log.Debug("no index; digests come from .sha256 sidecars", "store", s.repo, "err", r.err)
		r = indexResult{}
	case errors.Is(r.err, ErrNotFound):
		return nil, d, fmt.Errorf("%w: %v; an index key is configured, so only artifacts listed in a signed index are trusted", ErrSignature, r.err)
	default:
		return nil, d, r.err
	}
	var entry Entry
	listed := false
	if r.ix != nil {
		entry, listed = r.ix.Lookup(file)
		if !listed && r.signed {
			return nil, d, fmt.Errorf("%w: %s", ErrNotFound, explainMiss(id, r.ix))
		}
	}
	if listed {
		d.Digest, d.Size, d.Signed = "sha256:"+entry.SHA256, entry.Size, r.signed
	}
	rc, size, src, err := s.b.open(ctx, id.DriverVersion, id.Arch, file)
	if err != nil {
		if errors.Is(err, ErrNotFound) && r.ix != nil {
			return nil, d, fmt.Errorf("%w: %s", ErrNotFound, explainMiss(id, r.ix))
		}
		return nil, d, err
	}
	d.Source = src
	if size >= 0 && d.Size >= 0 && size != d.Size {
		rc.Close()
		return nil, d, fmt.Errorf("%s: %w: serves %d bytes, the index says %d", src, ErrIntegrity, size, d.Size)
	}
	if d.Size < 0 {
		d.Size = size
	}
	if d.Digest == "" {
		data, err := readSmall(ctx, s.b, id.DriverVersion, id.Arch, file+".sha256", maxSmallSize)
		switch {
		case err == nil:
			hex, perr := parseSidecar(data)
			if perr != nil {
				rc.Close()
				return nil, d, fmt.Errorf("%s.sha256: %w", src, perr)
			}
			d.Digest = "sha256:" + hex
		case errors.Is(err, ErrNotFound) || isDenied(err):
			s.log.Debug("no digest published", "artifact", src)
		default:
			rc.Close()
			return nil, d, fmt.Errorf("%s.sha256: %w", src, err)
		}
	}
	return rc, d, nil
}
