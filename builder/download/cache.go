package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
)

// Cache stores downloads by SHA256 under Dir/sha256/<hex>.
type Cache struct {
	Dir    string
	Client *http.Client
}

// Path is where the blob with that digest lives.
func (c *Cache) Path(sha256 string) string {
	return filepath.Join(c.Dir, "sha256", sha256)
}

// ValidDigest reports whether s is a SHA256 in lower-case hex: a digest
// names a file of the cache, so anything else ("../…") is refused.
func ValidDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Get returns the path of the verified blob, downloading it on a miss. A
// hit is hashed again: a blob changed since it was stored is fetched anew,
// never handed to an extractor.
func (c *Cache) Get(ctx context.Context, url string, want Want) (string, bool, error) {
	if !ValidDigest(want.SHA256) {
		return "", false, fmt.Errorf("%s: sha256 %q: want 64 lower-case hex digits to check it against: %w", url, want.SHA256, ErrDigest)
	}
	p := c.Path(want.SHA256)
	if intact(p, want) {
		return p, true, nil
	}
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	if err := File(ctx, client, url, want, p); err != nil {
		return "", false, err
	}
	return p, false, nil
}

// intact reports whether the regular file at p has the size and digest
// wanted (a symlink or a FIFO planted there is not opened through).
func intact(p string, want Want) bool {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Mode().Type() != 0 || (want.Size >= 0 && fi.Size() != want.Size) {
		return false
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false
	}
	return hex.EncodeToString(h.Sum(nil)) == want.SHA256
}
