package artifacts

import (
	"context"
	"errors"
	"fmt"
)

// signedLister is a store that can be configured with index keys. With
// keys, a digest counts only if the store's signed index lists it: that
// holds for bytes already in the cache as much as for a download.
type signedLister interface {
	// signedEntry returns the entry the store's signed index lists for id.
	// keyed is false when the store has no index key (nothing to check).
	signedEntry(ctx context.Context, id ID) (e Entry, keyed bool, err error)
}

func (s *layoutStore) signedEntry(ctx context.Context, id ID) (Entry, bool, error) {
	if len(s.keys) == 0 {
		return Entry{}, false, nil
	}
	r := s.index(ctx, id.DriverVersion, id.Arch)
	if r.err != nil {
		return Entry{}, true, r.err
	}
	if !r.signed {
		return Entry{}, true, fmt.Errorf("%w: index not signed", ErrSignature)
	}
	e, ok := r.ix.Lookup(id.FileName())
	if !ok {
		return Entry{}, true, fmt.Errorf("%w: %s", ErrNotFound, explainMiss(id, r.ix))
	}
	return e, true, nil
}

func (s *OCIStore) signedEntry(ctx context.Context, id ID) (Entry, bool, error) {
	if len(s.keys) == 0 {
		return Entry{}, false, nil
	}
	ix, err := s.IndexFor(ctx, id.DriverName, id.DriverVersion, id.Arch)
	if err != nil {
		return Entry{}, true, err
	}
	e, ok := ix.Lookup(id.FileName())
	if !ok {
		return Entry{}, true, fmt.Errorf("%w: %s", ErrNotFound, explainMiss(id, ix))
	}
	return e, true, nil
}

// errUnsigned: an index key is configured and no signed index of the
// configured stores lists the cached bytes.
var errUnsigned = errors.New("not listed by a signed index")

// signedHit checks a cached artifact against the signed indexes of s (each
// member of a MultiStore). When no store has an index key, anything the
// cache verified counts. With a key, the cached digest and size must be
// what a signed index lists; the descriptor returned names that store.
func signedHit(ctx context.Context, s Store, id ID, sum string, size int64) (Descriptor, error) {
	stores := []Store{s}
	if m, ok := s.(*MultiStore); ok {
		stores = m.Stores
	}
	keyed := false
	var errs []error
	for _, st := range stores {
		sl, ok := st.(signedLister)
		if !ok {
			continue
		}
		e, k, err := sl.signedEntry(ctx, id)
		if !k {
			continue
		}
		keyed = true
		if err != nil {
			errs = append(errs, storeErr(st.Name(), err))
			continue
		}
		if e.SHA256 == sum && e.Size == size {
			return Descriptor{Digest: "sha256:" + sum, Size: size, Store: st.Name(), Source: st.Name(), Signed: true}, nil
		}
		errs = append(errs, storeErr(st.Name(), fmt.Errorf("the signed index lists sha256 %s, %d bytes", e.SHA256, e.Size)))
	}
	if !keyed {
		return Descriptor{}, nil
	}
	return Descriptor{}, fmt.Errorf("cached sha256 %s: %w: %w", sum, errUnsigned, errors.Join(errs...))
}
