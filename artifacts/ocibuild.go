package artifacts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// What a matrix run on a cluster needs of a registry: build pods push
// their artifact only (PushArtifact), since two pods of one driver
// version and arch would race on the index; the command that started them
// adds the entries to the index afterwards, one writer (AddToIndex); and
// a rerun reads what an artifact's config says of its build (Entry) to
// decide that nothing has to be built.

// maxConfigSize bounds an artifact's config blob (an index Entry).
const maxConfigSize = 1 << 20

// PushArtifact publishes the artifact's manifest and blobs under its tag
// without touching the index. Concurrent calls for different artifacts
// are safe.
func (s *OCIStore) PushArtifact(ctx context.Context, e Entry, r io.Reader) (Descriptor, error) {
	d, err := s.pushArtifact(ctx, e, r)
	if err != nil {
		if ctx.Err() != nil {
			return d, ctx.Err()
		}
		return d, storeErr(s.Name(), err)
	}
	return d, nil
}

// AddToIndex puts the entries into the indexes of their driver version
// and arch (read, changed, written back once per index).
func (s *OCIStore) AddToIndex(ctx context.Context, entries []Entry) error {
	if err := s.addToIndex(ctx, entries); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return storeErr(s.Name(), err)
	}
	return nil
}

func (s *OCIStore) addToIndex(ctx context.Context, entries []Entry) error {
	type key struct{ name, version, arch string }
	groups := map[key][]Entry{}
	var keys []key
	for _, e := range entries {
		k := key{e.DriverName, e.DriverVersion, e.Arch}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], e)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return a.name+"\x00"+a.version+"\x00"+a.arch < b.name+"\x00"+b.version+"\x00"+b.arch
	})
	// Each index is read, changed and written back: concurrent publishers
	// of one driver version/arch must be serialised by the caller.
	for _, k := range keys {
		ix, err := s.readIndex(ctx, k.name, k.version, k.arch, false)
		if errors.Is(err, ErrNotFound) {
			ix, err = &Index{Schema: IndexSchema, DriverVersion: k.version, Arch: k.arch}, nil
		}
		if err != nil {
			return err
		}
		for _, e := range groups[k] {
			ix.Put(e)
		}
		if err := s.WriteIndex(ctx, k.name, ix); err != nil {
			return err
		}
	}
	return nil
}

// Entry returns the index entry an artifact was pushed with (its config
// blob: digest, size and how it was built) and the reference of its
// manifest by digest. A missing artifact is ErrNotFound. The artifact's
// bytes are not read: its layer must be the entry's digest, which Fetch
// checks when they are.
func (s *OCIStore) Entry(ctx context.Context, id ID) (Entry, string, error) {
	e, ref, err := s.entry(ctx, id)
	if err != nil {
		if ctx.Err() != nil {
			return e, ref, ctx.Err()
		}
		return e, ref, storeErr(s.Name(), err)
	}
	return e, ref, nil
}

func (s *OCIStore) entry(ctx context.Context, id ID) (Entry, string, error) {
	repo, err := s.repository(id.DriverName)
	if err != nil {
		return Entry{}, "", err
	}
	tag := repo.Tag(OCITag(id))
	desc, err := remote.Get(tag, s.options(ctx)...)
	if isMissing(err) {
		return Entry{}, "", fmt.Errorf("%w: no manifest %s", ErrNotFound, tag)
	}
	if err != nil {
		return Entry{}, "", fmt.Errorf("%s: %w", tag, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return Entry{}, "", fmt.Errorf("%s: manifest: %w", tag, err)
	}
	if m.Config.MediaType != MediaTypeConfig || m.Config.Size > maxConfigSize {
		return Entry{}, "", fmt.Errorf("%s: config %s of %d bytes: not a kdriver artifact", tag, m.Config.MediaType, m.Config.Size)
	}
	l, err := remote.Layer(tag.Context().Digest(m.Config.Digest.String()), s.options(ctx)...)
	if err != nil {
		return Entry{}, "", fmt.Errorf("%s: config: %w", tag, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return Entry{}, "", fmt.Errorf("%s: config: %w", tag, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxConfigSize))
	if err != nil {
		return Entry{}, "", fmt.Errorf("%s: config: %w", tag, err)
	}
	if h, _, _ := v1.SHA256(bytes.NewReader(data)); h != m.Config.Digest {
		return Entry{}, "", fmt.Errorf("%s: %w: config is %s, the manifest says %s", tag, ErrIntegrity, h, m.Config.Digest)
	}
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return Entry{}, "", fmt.Errorf("%s: config: %w", tag, err)
	}
	if e.ID() != id {
		return Entry{}, "", fmt.Errorf("%s: %w: config names %s", tag, ErrIntegrity, e.File)
	}
	// The layer must be the entry's bytes.
	i := -1
	for j, ld := range m.Layers {
		if ld.MediaType == layerMediaType(id.Kind) {
			i = j
		}
	}
	if i < 0 || m.Layers[i].Digest.Hex != e.SHA256 || m.Layers[i].Size != e.Size {
		return Entry{}, "", fmt.Errorf("%s: %w: no layer of sha256:%s", tag, ErrIntegrity, e.SHA256)
	}
	return e, repo.Digest(desc.Digest.String()).String(), nil
}
