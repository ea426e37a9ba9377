package artifacts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func memRegistry(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	return "oci://" + strings.TrimPrefix(s.URL, "http://") + "/drivers"
}

// TestOCIPullByDigestAndMisuse: pull by manifest digest; a manifest whose
// annotations name another kernel is refused; a repository that does not
// exist is a miss.
func TestOCIPullByDigestAndMisuse(t *testing.T) {
	repo := memRegistry(t)
	s, err := NewOCIStore(repo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	bodies := publish(t, s, testID)
	ctx := context.Background()

	ref, _ := name.ParseReference(OCIRef(repo, testID))
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	rc, d, err := s.FetchDigest(ctx, testID, desc.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, bodies[testID]) || d.Digest != "sha256:"+hexSum(got) || !strings.Contains(d.Source, "@"+desc.Digest.String()) {
		t.Fatalf("by digest: %d bytes, descriptor %+v", len(got), d)
	}

	// Tag another kernel's name onto this manifest: the annotations give it away.
	other := withKernel(testID, KindKmod, "5.15.0-1070-aws")
	otherTag := ref.Context().Tag(OCITag(other))
	if err := remote.Tag(otherTag, desc); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Fetch(ctx, other)
	if !errors.Is(err, ErrIntegrity) || !strings.Contains(err.Error(), `annotation io.kdriver.kernel.release is "5.15.0-1059-aws", want "5.15.0-1070-aws"`) {
		t.Errorf("mislabelled manifest: %v", err)
	}

	// Annotations keep the raw strings; the config is the index entry.
	m, _ := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if m.Annotations[AnnotationKernelVersion] != testID.KernelVersion || m.ArtifactType != MediaTypeArtifact || m.Layers[0].MediaType != MediaTypeKmod {
		t.Errorf("manifest %+v", m)
	}
	cfgLayer, _ := remote.Layer(ref.Context().Digest(m.Config.Digest.String()))
	cfgRC, _ := cfgLayer.Compressed()
	var e Entry
	json.NewDecoder(cfgRC).Decode(&e)
	cfgRC.Close()
	if e.ID() != testID || e.SHA256 != hexSum(bodies[testID]) {
		t.Errorf("config entry %+v", e)
	}

	// Another driver name is another repository, which does not exist.
	nope := testID
	nope.DriverName = "falco"
	_, _, err = s.Fetch(ctx, nope)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "store "+repo) {
		t.Errorf("missing repository: %v", err)
	}
}
