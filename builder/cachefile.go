package builder

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path"
)

// writeInDir writes name (slash-separated, relative to dir) through an
// os.Root of dir, by a temporary file renamed over it: a symlink planted at
// name is replaced, never written through, and one above it cannot lead
// out of dir.
func writeInDir(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
		return err
	}
	tmp := path.Join(path.Dir(name), fmt.Sprintf(".part-%016x", rand.Uint64()))
	f, err := root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return fmt.Errorf("%s: %w", path.Join(dir, name), err)
	}
	return nil
}
