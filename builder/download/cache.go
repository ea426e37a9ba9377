package download

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
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

// Get returns the path of the verified blob, downloading it on a miss. A hit
// is trusted by name: only verified files are ever renamed into the cache.
func (c *Cache) Get(ctx context.Context, url string, want Want) (string, bool, error) {
	if len(want.SHA256) != 64 {
		return "", false, fmt.Errorf("%s: no sha256 to check it against: %w", url, ErrDigest)
	}
	p := c.Path(want.SHA256)
	if fi, err := os.Stat(p); err == nil && (want.Size < 0 || fi.Size() == want.Size) {
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
