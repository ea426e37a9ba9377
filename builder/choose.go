package builder

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/kdriver/kdriver/builder/debian"
	"github.com/kdriver/kdriver/builder/matrix"
)

// ErrMode: the backend policy named is not one of Modes.
var ErrMode = errors.New("unknown backend policy")

// Backends are what a policy chooses from.
type Backends struct {
	Local    Backend
	Docker   Backend
	HostArch string // kernel spelling (x86_64)
	Logger   *slog.Logger
}

// Choose returns the backend policy mode: local, docker, kubernetes (the
// local toolchain of a build pod), or auto (local when the host has the
// headers' compiler, else docker).
func Choose(mode string, b Backends) (ChooseBackend, error) {
	one := func(be Backend) ChooseBackend {
		return func(context.Context, matrix.Target, Compiler) (Backend, error) { return be, nil }
	}
	switch mode {
	case "local":
		return one(b.Local), nil
	case "docker":
		return one(b.Docker), nil
	case "auto":
		log := b.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		return func(ctx context.Context, t matrix.Target, c Compiler) (Backend, error) {
			if _, err := HostCompiler(ctx, c, CrossPrefix(t.Arch, b.HostArch)); err == nil {
				return b.Local, nil
			} else if !errors.Is(err, ErrNoCompiler) {
				return nil, err
			}
			log.Info("host lacks the headers' compiler: building in a container", "target", t.Name, "compiler", c.Text)
			return b.Docker, nil
		}, nil
	case "kubernetes":
		// The command schedules pods (package kube) and never builds; in
		// a build pod the host is the builder image: its toolchain.
		return one(podBackend{b.Local}), nil
	}
	return nil, ErrMode
}

// DebootstrapMirror is the first apt source of the host (in hostRoot) that
// is not a security archive, or "" when there is none.
func DebootstrapMirror(hostRoot fs.FS) string {
	hs, err := debian.HostSources(hostRoot)
	if err != nil {
		return ""
	}
	for _, s := range hs {
		if !strings.Contains(s.URI, "security") {
			return s.URI
		}
	}
	return ""
}

// podBackend is the local backend inside a kubernetes build pod, named so
// in reports and build records.
type podBackend struct{ Backend }

func (podBackend) Name() string { return "kubernetes" }
