package artifacts

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestIndexKeyCacheHit: bytes cached earlier without an index key (or from
// another store) are not a hit once a key is configured, unless a signed
// index lists their digest; the signed artifact is downloaded instead.
func TestIndexKeyCacheHit(t *testing.T) {
	priv, pub, _ := GenerateKey()
	signKey, _ := ParsePrivateKey(priv)
	keys, _ := ParsePublicKeys(pub)
	ctx := context.Background()

	unsignedDir, signedDir := t.TempDir(), t.TempDir()
	us, _ := NewFileStore(unsignedDir, Options{})
	other := publish(t, us, testID)[testID]
	ss, _ := NewFileStore(signedDir, Options{SignKey: signKey})
	signed := publish(t, ss, testID, withKernel(testID, KindKmod, "9.9.9"))[testID]
	if hexSum(other) == hexSum(signed) {
		t.Fatal("test bodies are equal")
	}

	c := &Cache{Dir: t.TempDir()}
	if _, err := c.Fetch(ctx, us, testID, FetchOptions{}); err != nil {
		t.Fatal(err)
	}
	keyed, _ := NewFileStore(signedDir, Options{IndexKeys: keys})
	if _, err := c.Cached(ctx, keyed, testID, FetchOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unsigned cached bytes under --index-key: %v, want ErrNotFound", err)
	}
	r, err := c.Fetch(ctx, keyed, testID, FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Cached || r.SHA256 != hexSum(signed) || !r.From.Signed {
		t.Fatalf("fetch under --index-key: cached=%v sha256 %s signed=%v, want the signed index's %s downloaded",
			r.Cached, r.SHA256, r.From.Signed, hexSum(signed))
	}
	// Now the cache holds what the signed index lists: a hit, and it says so.
	r, err = c.Cached(ctx, keyed, testID, FetchOptions{})
	if err != nil || r.SHA256 != hexSum(signed) || !r.From.Signed {
		t.Fatalf("signed cached bytes: %+v, %v", r, err)
	}
	// A store with a key but no signed index gives the cache no trust.
	keyedUnsigned, _ := NewFileStore(unsignedDir, Options{IndexKeys: keys})
	if _, err := c.Cached(ctx, keyedUnsigned, testID, FetchOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cached bytes, keyed store without a signed index: %v, want ErrNotFound", err)
	}
	// Without a key the cache is trusted as before.
	if r, err := c.Cached(ctx, us, testID, FetchOptions{}); err != nil || !r.Cached {
		t.Fatalf("no key: %+v, %v", r, err)
	}
}

// TestFilePushMismatchKeepsPublished: a push whose bytes do not match its
// entry is refused and leaves the previously published file intact.
func TestFilePushMismatchKeepsPublished(t *testing.T) {
	dir := t.TempDir()
	s, _ := NewFileStore(dir, Options{})
	old := publish(t, s, testID)[testID]
	bad := elfBytes(t, len(old))
	e := EntryFor(testID)
	e.SHA256, e.Size = hexSum(old), int64(len(old)) // the entry of another file
	if _, err := s.Push(context.Background(), e, bytes.NewReader(bad)); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("mismatching push: %v, want ErrIntegrity", err)
	}
	got, err := os.ReadFile(filepath.Join(dir, testID.DriverVersion, testID.Arch, testID.FileName()))
	if err != nil || !bytes.Equal(got, old) {
		t.Fatalf("published file after a refused push: %d bytes, %v; want the old %d bytes", len(got), err, len(old))
	}
	c := &Cache{Dir: t.TempDir()}
	if r, err := c.Fetch(context.Background(), s, testID, FetchOptions{RequireDigest: true}); err != nil || r.SHA256 != hexSum(old) {
		t.Fatalf("fetch after a refused push: %+v, %v", r, err)
	}
}
