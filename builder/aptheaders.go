package builder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/builder/debian"
	"github.com/kdriver/kdriver/builder/download"
	"github.com/kdriver/kdriver/builder/headers"
	"github.com/kdriver/kdriver/loader/host"
)

// AptHeaders fetches a Debian host's missing headers from the archives of
// its own apt sources (etc/apt/sources.list{,.d} under the host root), as
// kdriver build discovers kernels: Release (checked with the source's
// Signed-By keyring when it names one), Packages against Release, each
// package against Packages; the tree is assembled and cached under Dir.
type AptHeaders struct {
	Dir    string // downloads and assembled trees
	Logger *slog.Logger
}

func (a *AptHeaders) root(f host.Facts) string {
	if f.HostRoot == "" {
		return "/"
	}
	return f.HostRoot
}

// sources checks that the host is Debian and has apt sources.
func (a *AptHeaders) sources(f host.Facts) ([]debian.Source, error) {
	if f.OS.ID != "debian" {
		return nil, fmt.Errorf("no headers to fetch: only a Debian host's apt sources are read, this host is %q: %w",
			f.OS.ID, ErrCannotCompile)
	}
	srcs, err := debian.HostSources(os.DirFS(a.root(f)))
	if err != nil {
		return nil, fmt.Errorf("apt sources under %s: %w", a.root(f), err)
	}
	if len(srcs) == 0 {
		return nil, fmt.Errorf("no apt source under %s to fetch them from: %w", a.root(f), ErrCannotCompile)
	}
	return srcs, nil
}

// Plan implements HeadersSource: it reads the sources, downloads nothing.
func (a *AptHeaders) Plan(f host.Facts) (string, error) {
	srcs, err := a.sources(f)
	if err != nil {
		return "", err
	}
	uris := make([]string, len(srcs))
	for i, s := range srcs {
		uris[i] = s.URI
	}
	return fmt.Sprintf("headers of %s from the host's apt sources (%s)", f.Kernel.Release, strings.Join(uris, ", ")), nil
}

// KDIR implements HeadersSource: linux-headers-<uname -r> for the host's
// arch from its sources' metadata, assembled into a build tree.
func (a *AptHeaders) KDIR(ctx context.Context, f host.Facts) (string, error) {
	if _, err := a.sources(f); err != nil {
		return "", err
	}
	k := Kernels{
		Components: []string{"main"},
		Flavour:    regexp.MustCompile("^" + regexp.QuoteMeta(f.Kernel.Release) + "$"),
		HostRoot:   a.root(f),
		HostArch:   string(f.Arch),
		Logger:     a.Logger,
	}
	t, err := k.Find(ctx, f.Kernel.Release, string(f.Arch))
	if err != nil {
		var nk *NoKernelError
		if errors.As(err, &nk) {
			// An ABI rotated out of the archive, a self-built kernel:
			// nothing to build against.
			return "", fmt.Errorf("%w: %w", err, ErrCannotCompile)
		}
		return "", fmt.Errorf("headers of %s: %w", f.Kernel.Release, err)
	}
	client, err := artifacts.NewHTTPClient(artifacts.HTTPOptions{}, false)
	if err != nil {
		return "", err
	}
	a.log().Info("fetching the kernel headers", "release", t.KernelRelease, "packages", len(t.Packages))
	store := &headers.Store{Dir: a.Dir, Cache: &download.Cache{Dir: a.Dir, Client: client}, Logger: a.Logger}
	tree, err := store.Tree(ctx, t)
	if err != nil {
		return "", fmt.Errorf("headers of %s: %w", f.Kernel.Release, err)
	}
	return tree.KDIR, nil
}

func (a *AptHeaders) log() *slog.Logger {
	if a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}
