package loader

import "errors"

// Errors that decide the command's exit code (see CLI.md); wrap them with %w.
var (
	// ErrNoArtifact: no store has the artifact and compiling is not allowed
	// or not possible (exit 3).
	ErrNoArtifact = errors.New("no driver artifact available")
	// ErrUnsupported: the host cannot run the requested driver: kernel too
	// old, no BTF, lockdown, no module support, missing privileges (exit 4).
	ErrUnsupported = errors.New("host cannot run the driver")
)
