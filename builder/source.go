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

// Source is the driver's C source: a directory and, optionally, extra files
// copied next to it (kd_event.h from events/c).
type Source struct {
	Dir    string
	Extra  []string // files copied into the top of the prepared source
	Module string   // the module's name, e.g. kdriver (kdriver.ko)
}

// files lists the source as relative name → absolute path.
func (s Source) files() (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(s.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(s.Dir, p)
			out[rel] = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("driver source: %w", err)
	}
	for _, e := range s.Extra {
		out[filepath.Base(e)] = e
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
		b, err := os.ReadFile(files[n])
		if err != nil {
			return "", fmt.Errorf("driver source: %w", err)
		}
		fs := sha256.Sum256(b)
		fmt.Fprintf(h, "%s %x\n", n, fs)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Prepare copies the source (and the extra files) into dst.
func (s Source) Prepare(dst string) error {
	files, err := s.files()
	if err != nil {
		return err
	}
	for rel, src := range files {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
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
