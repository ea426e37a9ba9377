package artifacts

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

var (
	// ErrNotFound: the store does not have the artifact (a miss, not a failure).
	ErrNotFound = errors.New("artifact not found")
	// ErrIntegrity: the bytes do not match the published size or digest, or
	// are not an artifact at all (an HTML page, a truncated file).
	ErrIntegrity = errors.New("artifact failed verification")
	// ErrSignature: an index is unsigned or its signature does not verify
	// with the configured key.
	ErrSignature = errors.New("index signature")
	// ErrNoPush: the store cannot be published to (plain HTTP).
	ErrNoPush = errors.New("store does not support publishing")
)

// Descriptor describes the bytes a store returns for an artifact.
type Descriptor struct {
	// Digest is "sha256:<hex>" as published by the store (OCI descriptor,
	// index entry or .sha256 sidecar); empty when the store publishes none.
	Digest string `json:"digest,omitempty"`
	// Size in bytes; -1 when unknown.
	Size int64 `json:"size"`
	// Source is the URL or reference the bytes come from: for HTTP stores
	// the URL that answered after any redirects, without its query.
	Source string `json:"source"`
	// Store is the repository URL of the store.
	Store string `json:"store"`
	// Signed reports that the digest comes from an index whose signature
	// verified with a configured key.
	Signed bool `json:"signed,omitempty"`
	// Local reports bytes made on this host (a build on the node), not
	// fetched: the cache records it, and under index keys trusts them as
	// it trusts itself, where a download must be listed by a signed index.
	Local bool `json:"local,omitempty"`
}

// Store fetches artifacts by identity.
type Store interface {
	// Name is the store's repository URL, used in messages.
	Name() string
	// Fetch returns the artifact's bytes and what the store publishes about
	// them. A miss returns an error matching ErrNotFound. The caller must
	// verify the bytes against the descriptor (Cache does).
	Fetch(ctx context.Context, id ID) (io.ReadCloser, Descriptor, error)
}

// Pusher is a store that can be published to.
type Pusher interface {
	Store
	// Push publishes the artifact read from r (size bytes) with the index
	// entry e (whose SHA256 and Size must be set) and updates the store's
	// index.
	Push(ctx context.Context, e Entry, r io.Reader) (Descriptor, error)
}

// Indexer is a store that can return its index for a driver version and arch.
type Indexer interface {
	Store
	// Index returns the index; ErrNotFound when the store has none.
	Index(ctx context.Context, driverVersion, arch string) (*Index, error)
}

// StoreError is a failure of one store, naming it.
type StoreError struct {
	Store string
	Err   error
}

func (e *StoreError) Error() string { return fmt.Sprintf("store %s: %v", e.Store, e.Err) }
func (e *StoreError) Unwrap() error { return e.Err }

func storeErr(s string, err error) error {
	var se *StoreError
	if errors.As(err, &se) && se.Store == s {
		return err
	}
	return &StoreError{Store: s, Err: err}
}

// Options configure the stores that Open creates.
type Options struct {
	HTTP HTTPOptions
	// IndexKeys verify signed indexes. When set, a layout store (HTTP, file)
	// trusts only digests from an index whose signature verifies with one of
	// them, and refuses artifacts the signed index does not list.
	IndexKeys []ed25519.PublicKey
	// SignKey signs the indexes that publishing writes.
	SignKey ed25519.PrivateKey
	// Insecure allows plain-HTTP OCI registries and unverified TLS.
	Insecure bool
	// Logger receives debug messages; nil is silent.
	Logger *slog.Logger
}

func (o *Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// Open returns the store for a repository URL: https:// and http:// (Falco
// layout), oci://registry/repo, file:///dir (Falco layout on disk).
func Open(repo string, opts Options) (Store, error) {
	scheme, err := RepoScheme(repo)
	if err != nil {
		return nil, err
	}
	switch scheme {
	case "http", "https":
		return NewHTTPStore(repo, opts)
	case "oci":
		return NewOCIStore(repo, opts)
	default:
		return NewFileStore(repo, opts)
	}
}

// OpenAll opens every repository and returns them as one MultiStore.
func OpenAll(repos []string, opts Options) (*MultiStore, error) {
	if len(repos) == 0 {
		return nil, errors.New("no artifact store configured: give --repo URL")
	}
	if opts.Insecure {
		// Never silent: this is for test registries, and it applies to
		// every store of the run, https mirrors included.
		opts.logger().Warn("TLS certificates are not verified and OCI registries may be spoken to in plain HTTP (--insecure)", "stores", strings.Join(repos, " "))
	}
	var stores []Store
	for _, r := range repos {
		s, err := Open(r, opts)
		if err != nil {
			return nil, err
		}
		stores = append(stores, s)
	}
	return NewMultiStore(stores...), nil
}

// trimSlash is the repo URL without trailing slashes.
func trimSlash(s string) string { return strings.TrimRight(s, "/") }
