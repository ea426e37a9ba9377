package artifacts

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// TestPushArtifactThenIndex: build pods push artifacts without the index
// (PushArtifact), the command adds them afterwards in one write per index
// (AddToIndex); Entry reads back the build record a rerun compares, and a
// missing artifact is ErrNotFound.
func TestPushArtifactThenIndex(t *testing.T) {
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	st, err := NewOCIStore("oci://"+strings.TrimPrefix(s.URL, "http://")+"/drivers", Options{HTTP: fastHTTP()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ids := []ID{testID, withKernel(testID, KindKmod, "5.15.0-1061-aws")}
	var entries []Entry
	for i, id := range ids {
		if _, _, err := st.Entry(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Entry of an artifact not pushed: %v, want ErrNotFound", err)
		}
		body := elfBytes(t, 4096+i*100)
		e := EntryFor(id)
		e.SHA256, e.Size = hexSum(body), int64(len(body))
		e.Build = map[string]string{"cache_key": "key" + id.KernelRelease}
		if _, err := st.PushArtifact(ctx, e, bytes.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	if _, err := st.IndexFor(ctx, testID.DriverName, testID.DriverVersion, testID.Arch); !errors.Is(err, ErrNotFound) {
		t.Fatalf("PushArtifact wrote the index: %v", err)
	}
	for i, id := range ids {
		e, ref, err := st.Entry(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if e.Build["cache_key"] != entries[i].Build["cache_key"] || e.SHA256 != entries[i].SHA256 || !strings.Contains(ref, "@sha256:") {
			t.Errorf("Entry(%s) = %+v at %s, want %+v", id.KernelRelease, e, ref, entries[i])
		}
	}
	if err := st.AddToIndex(ctx, entries); err != nil {
		t.Fatal(err)
	}
	ix, err := st.IndexFor(ctx, testID.DriverName, testID.DriverVersion, testID.Arch)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, ok := ix.Lookup(id.FileName()); !ok {
			t.Errorf("index lacks %s", id.FileName())
		}
	}
}
