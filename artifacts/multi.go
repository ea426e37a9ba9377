package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MultiStore tries stores in order. Its misses join into one FetchError
// that names each store and why it had nothing.
type MultiStore struct {
	Stores []Store
}

// NewMultiStore returns a store that tries stores in order.
func NewMultiStore(stores ...Store) *MultiStore { return &MultiStore{Stores: stores} }

// Name lists the member stores.
func (m *MultiStore) Name() string {
	names := make([]string, len(m.Stores))
	for i, s := range m.Stores {
		names[i] = s.Name()
	}
	return strings.Join(names, ", ")
}

// Fetch returns the first store's answer that is not a failure; a store that
// fails (not only misses) does not stop the search.
func (m *MultiStore) Fetch(ctx context.Context, id ID) (io.ReadCloser, Descriptor, error) {
	fe := &FetchError{ID: id}
	for _, s := range m.Stores {
		rc, d, err := s.Fetch(ctx, id)
		if err == nil {
			return rc, d, nil
		}
		if ctx.Err() != nil {
			return nil, d, ctx.Err()
		}
		fe.add(s.Name(), err)
	}
	return nil, Descriptor{}, fe
}

// FetchError is the failure of every store to give an artifact. It matches
// ErrNotFound only when every store missed; if any store failed otherwise
// the artifact may exist and the error is a failure.
type FetchError struct {
	ID   ID
	Errs []error // each a *StoreError
}

func (e *FetchError) add(store string, err error) {
	e.Errs = append(e.Errs, storeErr(store, err))
}

func (e *FetchError) Error() string {
	if len(e.Errs) == 1 {
		return e.Errs[0].Error() // names the store and the URL or reference
	}
	var b strings.Builder
	what := "not found in any of"
	if !e.allMissed() {
		what = "not fetched from any of"
	}
	fmt.Fprintf(&b, "%s: %s %d stores:", e.ID.FileName(), what, len(e.Errs))
	for _, err := range e.Errs {
		b.WriteString("\n  ")
		b.WriteString(err.Error())
	}
	return b.String()
}

func (e *FetchError) allMissed() bool {
	for _, err := range e.Errs {
		if !errors.Is(err, ErrNotFound) {
			return false
		}
	}
	return len(e.Errs) > 0
}

// Is matches ErrNotFound when every store missed.
func (e *FetchError) Is(target error) bool { return target == ErrNotFound && e.allMissed() }

// Unwrap exposes the per-store errors (cancellation, integrity, signature).
func (e *FetchError) Unwrap() []error {
	var out []error
	for _, err := range e.Errs {
		if !errors.Is(err, ErrNotFound) {
			out = append(out, err)
		}
	}
	return out
}
