package builder

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// MaxArtifact caps what a backend's job may hand back as its artifact.
const MaxArtifact = 256 << 20

// ReadOutput reads the artifact a job left in a folder the job itself could
// write (a container's or a pod's mount of the job folder): code from the
// header packages ran there, so the file is opened without following a
// symlink (one to a host file, or to /dev/zero), must be a regular file and
// at most MaxArtifact bytes.
func ReadOutput(file string) ([]byte, error) {
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: a %v, not a regular file: %w", file, fi.Mode().Type(), ErrBuild)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxArtifact+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxArtifact {
		return nil, fmt.Errorf("%s: more than %d bytes: %w", file, MaxArtifact, ErrBuild)
	}
	return b, nil
}
