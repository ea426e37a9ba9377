package artifacts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestUnsafeCacheDir: in a cache directory other users can write, a module
// and a matching record planted there are not trusted: fetch and lookup
// fail, saying why.
func TestUnsafeCacheDir(t *testing.T) {
	ctx := context.Background()
	c := &Cache{Dir: t.TempDir()}
	good := &fileBody{data: elfBytes(t, 2000)}
	r, err := c.Fetch(ctx, good, testID, FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(r.Path)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	planted := elfBytes(t, 2000)
	os.WriteFile(r.Path, planted, 0o644)
	os.WriteFile(r.Path+".sha256", []byte(hexSum(planted)+"  "+filepath.Base(r.Path)+"\n"+recordID(testID)), 0o644)

	if got, err := c.Cached(ctx, nil, testID, FetchOptions{}); !errors.Is(err, ErrUnsafeCache) {
		t.Errorf("lookup in a world-writable cache folder: %+v, %v; want ErrUnsafeCache", got, err)
	}
	if got, err := c.Fetch(ctx, good, testID, FetchOptions{}); !errors.Is(err, ErrUnsafeCache) {
		t.Errorf("fetch into a world-writable cache folder: %+v, %v; want ErrUnsafeCache", got, err)
	}
	os.Chmod(dir, 0o755)
	os.Chmod(c.Dir, 0o775)
	if _, err := c.Fetch(ctx, good, testID, FetchOptions{}); !errors.Is(err, ErrUnsafeCache) {
		t.Errorf("fetch into a group-writable cache root: %v; want ErrUnsafeCache", err)
	}
}
