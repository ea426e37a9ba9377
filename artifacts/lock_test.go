package artifacts

import (
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// countingStore counts downloads of its one artifact.
type countingStore struct {
	fileBody
	n atomic.Int32
}

func (s *countingStore) Fetch(ctx context.Context, id ID) (io.ReadCloser, Descriptor, error) {
	s.n.Add(1)
	return s.fileBody.Fetch(ctx, id)
}

// TestFlatLeavesNoLock: fetch --output-dir and publishing to a directory
// leave only the artifact, its record (or sidecar) and the index: no lock
// file; concurrent fetches into one output dir still serialise.
func TestFlatLeavesNoLock(t *testing.T) {
	out := t.TempDir()
	c := &Cache{Dir: out, Flat: true}
	s := &countingStore{fileBody: fileBody{data: elfBytes(t, 3000)}}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := c.Fetch(context.Background(), s, testID, FetchOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := s.n.Load(); n != 1 {
		t.Errorf("downloaded %d times, want 1 (the others wait and find it)", n)
	}
	if got, want := names(t, out), testID.FileName()+" "+testID.FileName()+".sha256"; got != want {
		t.Errorf("--output-dir holds %q, want %q", got, want)
	}

	store := t.TempDir()
	ps, _ := NewFileStore(store, Options{})
	publish(t, ps, testID)
	dir := store + "/" + testID.DriverVersion + "/" + testID.Arch
	if got, want := names(t, dir), IndexFile+" "+testID.FileName()+" "+testID.FileName()+".sha256"; got != want {
		t.Errorf("published folder holds %q, want %q", got, want)
	}
}

func names(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	return strings.Join(n, " ")
}

// TestPublishRemovesKilledParts: the temporary file of a publisher killed
// mid-write is removed by the next push into that folder, not served
// forever.
func TestPublishRemovesKilledParts(t *testing.T) {
	store := t.TempDir()
	ps, _ := NewFileStore(store, Options{})
	publish(t, ps, testID)
	dir := store + "/" + testID.DriverVersion + "/" + testID.Arch
	left := dir + "/." + testID.FileName() + ".part-999"
	if err := os.WriteFile(left, elfBytes(t, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	publish(t, ps, withKernel(testID, KindKmod, "5.15.0-1060-aws"))
	if _, err := os.Stat(left); err == nil {
		t.Errorf("a killed publisher's partial file is still served: %s", left)
	}
}
