package builder

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Source is the driver's C source: a directory or a file system (such as
// the one embedded in the binary), and extra files copied next to it
// (kd_event.h from events/c).
type Source struct {
	Dir       string            // a folder, or
	FS        fs.FS             // a file system whose root is the source
	Extra     []string          // files copied into the top of the prepared source
	ExtraData map[string]string // name → content, likewise
	Module    string            // the module's name, e.g. kdriver (kdriver.ko)
}

// files returns the source as relative name → content.
func (s Source) files() (map[string][]byte, error) {
	fsys := s.FS
	if fsys == nil {
		if s.Dir == "" {
			return nil, fmt.Errorf("driver source: no folder given")
		}
		fsys = os.DirFS(s.Dir)
	}
	out := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			out[filepath.FromSlash(p)] = b
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("driver source: %w", err)
	}
	for _, e := range s.Extra {
		b, err := os.ReadFile(e)
		if err != nil {
			return nil, fmt.Errorf("driver source: %w", err)
		}
		out[filepath.Base(e)] = b
	}
	for n, c := range s.ExtraData {
		out[n] = []byte(c)
	}
	return out, nil
}

// Digest is the SHA256 of the source's names and contents, in name order:
// any change to the driver changes it, and with it every cache key.
func (s Source) Digest() (string, error) {
	files, err := s.files()
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s %x\n", n, sha256.Sum256(files[n]))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Prepare copies the source (and the extra files) into dst.
func (s Source) Prepare(dst string) error {
	files, err := s.files()
	if err != nil {
		return err
	}
	for rel, b := range files {
		p := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
