package loader

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/bpf/legacy"
	"io"

	"github.com/kdriver/kdriver/loader/host"
)

// ErrNoSelfTest is returned by Open for a driver kdriver places but does
// not read (Falco's probe): install skips the self-test and says so.
var ErrNoSelfTest = errors.New("driver is not read by kdriver")

// falcoProbeCheck is the preflight of a Falco probe for host f, as a cache
// check.
func falcoProbeCheck(f host.Facts) artifacts.CheckFunc {
	return func(name string, r io.ReaderAt, size int64) error {
		info, err := legacy.InspectFalco(name, r, size)
		if err != nil {
			return err
		}
		return info.Check(name, f.Kernel.Release)
	}
}

func (d *ebpfDriver) preflightFalco(f host.Facts, lines []string) ([]string, error) {
	st, err := d.artifact.file.Stat()
	if err != nil {
		d.artifact.Close()
		return nil, fmt.Errorf("probe %s: %w", d.artifact.Path, err)
	}
	info, err := legacy.InspectFalco(d.artifact.Path, d.artifact.file, st.Size())
	if err == nil {
		err = info.Check(d.artifact.Path, f.Kernel.Release)
	}
	d.artifact.Close()
	if err != nil {
		return nil, err
	}
	return append(lines, fmt.Sprintf("%s: Falco probe %s for kernel %s (API %s, schema %s); Falco loads it from %s",
		d.artifact.Path, info.DriverVersion, info.KernelRelease, info.API, info.Schema, d.cfg.EBPF.FalcoPath)), nil
}

// placeFalco links FalcoPath to the checked probe, as Falco's own loader
// links ~/.falco/<name>-bpf.o to its download: a new link renamed over the
// old one, so Falco never sees a half-made file.
func (d *ebpfDriver) placeFalco() (string, error) {
	if d.artifact == nil || d.artifact.Path == "" {
		return "", fmt.Errorf("%w: Falco probe: nothing resolved (run the preflight first)", ErrNoArtifact)
	}
	dst := d.cfg.EBPF.FalcoPath
	src, err := filepath.Abs(d.artifact.Path)
	if err != nil {
		return "", err
	}
	if src == dst {
		return "probe in place at " + dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("probe place %s: %w", dst, err)
	}
	tmp := dst + ".kdriver-new"
	os.Remove(tmp)
	if err := os.Symlink(src, tmp); err != nil {
		return "", fmt.Errorf("probe place %s: %w", dst, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("probe place %s: %w", dst, err)
	}
	return fmt.Sprintf("Falco probe placed: %s -> %s (%s)", dst, src, d.artifact), nil
}

// cleanupFalco removes the link placeFalco made; a regular file there (a
// probe the user put) is left alone.
func (d *ebpfDriver) cleanupFalco() (string, error) {
	dst := d.cfg.EBPF.FalcoPath
	st, err := os.Lstat(dst)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "nothing to clean up: no probe at " + dst, nil
	case err != nil:
		return "", err
	case st.Mode()&fs.ModeSymlink == 0:
		return "left " + dst + ": a file, not a link kdriver made", nil
	}
	if err := os.Remove(dst); err != nil {
		return "", err
	}
	return "removed the link " + dst, nil
}
