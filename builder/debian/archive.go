package debian

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/kdriver/kdriver/builder/download"
	"github.com/ulikunitz/xz"
)

// ErrNoIndex is returned when a suite has no index for a component/arch.
var ErrNoIndex = errors.New("no index")

// Limits on metadata sizes (decompressed): a real Packages index of a full
// Debian suite is ~50 MiB.
const (
	maxRelease  = 16 << 20
	maxPackages = 512 << 20
)

// Archive is one Debian-style archive root (the URI of an apt source).
type Archive struct {
	URL    string
	Client *http.Client
	// Keyring, when set, is the OpenPGP keyring (as apt's Signed-By) the
	// suite's InRelease, or Release with Release.gpg, must be signed with.
	// Without it the Release is trusted as fetched.
	Keyring string
	// Now is the clock Valid-Until is checked against (time.Now when nil).
	Now func() time.Time
}

func (a *Archive) url(p string) string { return strings.TrimRight(a.URL, "/") + "/" + p }

// Release fetches dists/<suite>/InRelease, or Release (with Release.gpg
// when a keyring is set), and verifies the signature against the keyring.
func (a *Archive) Release(ctx context.Context, suite string) (*Release, error) {
	get := func(name string) ([]byte, error) {
		return download.Bytes(ctx, a.Client, a.url("dists/"+suite+"/"+name), download.Want{Size: -1}, maxRelease)
	}
	b, err := get("InRelease")
	if err == nil && a.Keyring != "" {
		if b, err = gpgvVerify(ctx, a.Keyring, b, nil); err != nil {
			return nil, fmt.Errorf("suite %s: InRelease: %w", suite, err)
		}
	}
	if err != nil {
		if !errors.Is(err, download.ErrNotFound) {
			return nil, fmt.Errorf("suite %s: %w", suite, err)
		}
		if b, err = get("Release"); err != nil {
			return nil, fmt.Errorf("suite %s: %w", suite, err)
		}
		if a.Keyring != "" {
			sig, err := get("Release.gpg")
			if err != nil {
				return nil, fmt.Errorf("suite %s: no InRelease and no Release.gpg to check Release with: %w", suite, err)
			}
			if _, err := gpgvVerify(ctx, a.Keyring, b, sig); err != nil {
				return nil, fmt.Errorf("suite %s: Release: %w", suite, err)
			}
		}
	}
	rel, err := ParseRelease(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("suite %s: %w", suite, err)
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	if err := rel.CheckValid(now()); err != nil {
		return nil, fmt.Errorf("suite %s at %s: %w", suite, a.URL, err)
	}
	return rel, nil
}

// Packages fetches the Packages index of one component and arch, preferring
// xz, then gz, then plain, each checked against the Release's SHA256.
func (a *Archive) Packages(ctx context.Context, rel *Release, suite, component, arch string) ([]Package, error) {
	base := component + "/binary-" + arch + "/Packages"
	for _, ext := range []string{".xz", ".gz", ""} {
		sum, ok := rel.Files[base+ext]
		if !ok {
			continue
		}
		// The size is read into memory as the Release states it; without a
		// keyring the Release is anyone's on the way.
		if sum.Size > maxPackages {
			return nil, fmt.Errorf("%s %s: Release lists %d bytes, more than %d: %w", suite, base+ext, sum.Size, maxPackages, download.ErrTooLarge)
		}
		b, err := download.Bytes(ctx, a.Client, a.url("dists/"+suite+"/"+base+ext),
			download.Want{Size: sum.Size, SHA256: sum.SHA256}, sum.Size)
		if err != nil {
			return nil, err
		}
		r, err := decompress(ext, b)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", suite, base+ext, err)
		}
		pkgs, err := ParsePackages(io.LimitReader(r, maxPackages))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", suite, base+ext, err)
		}
		return pkgs, nil
	}
	return nil, fmt.Errorf("suite %s: %s: not listed in Release: %w", suite, base, ErrNoIndex)
}

func decompress(ext string, b []byte) (io.Reader, error) {
	switch ext {
	case ".xz":
		return xz.NewReader(bytes.NewReader(b))
	case ".gz":
		return gzip.NewReader(bytes.NewReader(b))
	}
	return bytes.NewReader(b), nil
}
