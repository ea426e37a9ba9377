package artifacts

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// OCI media types of kdriver artifacts (see docs/stores.md).
const (
	// MediaTypeArtifact is the manifest's artifactType for a driver.
	MediaTypeArtifact = "application/vnd.kdriver.driver.v1"
	// MediaTypeConfig is the config blob: the index Entry as JSON.
	MediaTypeConfig = "application/vnd.kdriver.driver.config.v1+json"
	// MediaTypeKmod is the layer holding a kernel module (.ko).
	MediaTypeKmod = "application/vnd.kdriver.driver.kmod.v1"
	// MediaTypeEBPF is the layer holding a legacy eBPF probe (.o).
	MediaTypeEBPF = "application/vnd.kdriver.driver.ebpf.v1"
	// MediaTypeIndexArtifact is the artifactType of an index manifest.
	MediaTypeIndexArtifact = "application/vnd.kdriver.index.v1"
	// MediaTypeIndex is the layer holding index.json.
	MediaTypeIndex = "application/vnd.kdriver.index.v1+json"
	// MediaTypeIndexSignature is the layer holding index.json.sig.
	MediaTypeIndexSignature = "application/vnd.kdriver.index.sig.v1"
	// MediaTypeEmpty is the OCI empty config of index manifests.
	MediaTypeEmpty = "application/vnd.oci.empty.v1+json"
)

// Annotations on driver manifests: the raw strings the sanitised tag lost.
const (
	AnnotationTitle         = "org.opencontainers.image.title"
	AnnotationDriverName    = "io.kdriver.driver.name"
	AnnotationDriverVersion = "io.kdriver.driver.version"
	AnnotationKind          = "io.kdriver.kind"
	AnnotationArch          = "io.kdriver.arch"
	AnnotationTarget        = "io.kdriver.target"
	AnnotationKernelRelease = "io.kdriver.kernel.release"
	AnnotationKernelVersion = "io.kdriver.kernel.version"
)

func layerMediaType(k Kind) types.MediaType {
	if k == KindEBPF {
		return MediaTypeEBPF
	}
	return MediaTypeKmod
}

// OCIIndexTag is the tag of the index manifest of one driver version/arch.
func OCIIndexTag(driverVersion, arch string) string {
	// Reuse OCITag's sanitising with a kind that no artifact has.
	return OCITag(ID{DriverVersion: driverVersion, Arch: arch, TargetID: "index", Kind: "index"})
}

// OCIStore is an OCI registry repository (oci://registry/path); each
// driver name is a repository below it, each artifact a tag.
type OCIStore struct {
	repo    string // without oci://
	keys    []ed25519.PublicKey
	signKey ed25519.PrivateKey
	nameOpt []name.Option
	rt      http.RoundTripper
}

// NewOCIStore returns the store for oci://registry/repo. Credentials come
// from the docker config (authn.DefaultKeychain); 127.0.0.1 and localhost
// registries are spoken to over plain HTTP, others only with opts.Insecure.
func NewOCIStore(repo string, opts Options) (*OCIStore, error) {
	r := strings.TrimRight(strings.TrimPrefix(repo, "oci://"), "/")
	s := &OCIStore{repo: r, keys: opts.IndexKeys, signKey: opts.SignKey}
	if opts.Insecure {
		s.nameOpt = append(s.nameOpt, name.Insecure)
	}
	if _, err := name.NewRepository(r+"/x", s.nameOpt...); err != nil {
		return nil, fmt.Errorf("repo %q: %w", repo, err)
	}
	c := opts.HTTP.Client
	if c == nil {
		var err error
		if c, err = NewHTTPClient(opts.HTTP, opts.Insecure); err != nil {
			return nil, err
		}
	}
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	s.rt = rt
	if !opts.Insecure {
		s.rt = tlsOnly{rt}
	}
	return s, nil
}

// ErrPlainHTTP: a request to a registry would have gone out without TLS.
var ErrPlainHTTP = errors.New("plain HTTP refused")

// tlsOnly refuses plain-HTTP requests except to loopback registries.
// go-containerregistry itself falls back to plain HTTP for registries in
// private address ranges when https fails (which anyone on the path can
// make happen), and follows a redirect of a blob to http://.
type tlsOnly struct{ rt http.RoundTripper }

func (t tlsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.EqualFold(req.URL.Scheme, "https") && !isLoopback(req.URL.Hostname()) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w: %s %s: registries are spoken to over https (--insecure allows plain HTTP)", ErrPlainHTTP, req.Method, redact(req.URL))
	}
	return t.rt.RoundTrip(req)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name implements Store.
func (s *OCIStore) Name() string { return "oci://" + s.repo }

func (s *OCIStore) options(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithTransport(s.rt), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
}

func (s *OCIStore) repository(driverName string) (name.Repository, error) {
	return name.NewRepository(OCIRepository("oci://"+s.repo, driverName), s.nameOpt...)
}

// isMissing reports a registry's "no such manifest/repository".
func isMissing(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range te.Errors {
		switch d.Code {
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
			return true
		}
	}
	return false
}

// Fetch implements Store: the manifest by tag (OCITag), checked against
// the raw kernel strings in its annotations, then the layer of the kind.
func (s *OCIStore) Fetch(ctx context.Context, id ID) (io.ReadCloser, Descriptor, error) {
	repo, err := s.repository(id.DriverName)
	if err != nil {
		return nil, Descriptor{}, storeErr(s.Name(), err)
	}
	return s.fetch(ctx, id, repo.Tag(OCITag(id)))
}

// FetchDigest fetches the artifact from the manifest with the given digest
// (sha256:…), the way to pin an exact build.
func (s *OCIStore) FetchDigest(ctx context.Context, id ID, manifest string) (io.ReadCloser, Descriptor, error) {
	repo, err := s.repository(id.DriverName)
	if err != nil {
		return nil, Descriptor{}, storeErr(s.Name(), err)
	}
	if _, err := v1.NewHash(manifest); err != nil {
		return nil, Descriptor{}, storeErr(s.Name(), fmt.Errorf("manifest digest %q: %w", manifest, err))
	}
	return s.fetch(ctx, id, repo.Digest(manifest))
}

func (s *OCIStore) fetch(ctx context.Context, id ID, ref name.Reference) (io.ReadCloser, Descriptor, error) {
	rc, d, err := s.fetchRef(ctx, id, ref)
	if err != nil {
		if ctx.Err() != nil {
			return nil, d, ctx.Err()
		}
		return nil, d, storeErr(s.Name(), err)
	}
	return rc, d, nil
}

func (s *OCIStore) fetchRef(ctx context.Context, id ID, ref name.Reference) (io.ReadCloser, Descriptor, error) {
	d := Descriptor{Size: -1, Source: ref.String(), Store: s.Name()}
	var signed *Entry
	if len(s.keys) > 0 {
		ix, err := s.IndexFor(ctx, id.DriverName, id.DriverVersion, id.Arch)
		if err != nil {
			return nil, d, fmt.Errorf("%w; an index key is configured, so only artifacts listed in a signed index are trusted", err)
		}
		e, ok := ix.Lookup(id.FileName())
		if !ok {
			return nil, d, fmt.Errorf("%w: %s", ErrNotFound, explainMiss(id, ix))
		}
		signed = &e
	}
	desc, err := remote.Get(ref, s.options(ctx)...)
	if isMissing(err) {
		miss := fmt.Errorf("%w: no manifest %s", ErrNotFound, ref)
		if ix, ierr := s.IndexFor(ctx, id.DriverName, id.DriverVersion, id.Arch); ierr == nil {
			miss = fmt.Errorf("%w: %s", ErrNotFound, explainMiss(id, ix))
		}
		return nil, d, miss
	}
	if err != nil {
		return nil, d, fmt.Errorf("%s: %w", ref, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, d, fmt.Errorf("%s: manifest: %w", ref, err)
	}
	if m.Config.MediaType != MediaTypeConfig {
		return nil, d, fmt.Errorf("%s: config media type %q, want %q: not a kdriver artifact", ref, m.Config.MediaType, MediaTypeConfig)
	}
	// A sanitised tag is shared by no two kernels (it carries a hash), but
	// a hand-made tag could lie: the annotations must name this artifact.
	for k, want := range map[string]string{AnnotationDriverName: id.DriverName, AnnotationDriverVersion: id.DriverVersion,
		AnnotationKind: string(id.Kind), AnnotationArch: id.Arch, AnnotationTarget: id.TargetID,
		AnnotationKernelRelease: id.KernelRelease, AnnotationKernelVersion: id.KernelVersion} {
		if got := m.Annotations[k]; got != want {
			return nil, d, fmt.Errorf("%s: %w: annotation %s is %q, want %q", ref, ErrIntegrity, k, got, want)
		}
	}
	i := slices.IndexFunc(m.Layers, func(l v1.Descriptor) bool { return l.MediaType == layerMediaType(id.Kind) })
	if i < 0 {
		return nil, d, fmt.Errorf("%s: no layer of media type %s", ref, layerMediaType(id.Kind))
	}
	ld := m.Layers[i]
	d.Digest, d.Size = ld.Digest.String(), ld.Size
	if signed != nil {
		if ld.Digest.Hex != signed.SHA256 || ld.Size != signed.Size {
			return nil, d, fmt.Errorf("%s: %w: layer %s (%d bytes) is not what the signed index lists (sha256:%s, %d bytes)", ref, ErrIntegrity, ld.Digest, ld.Size, signed.SHA256, signed.Size)
		}
		d.Signed = true
	}
	d.Source = ref.Context().Digest(desc.Digest.String()).String()
	l, err := remote.Layer(ref.Context().Digest(ld.Digest.String()), s.options(ctx)...)
	if err != nil {
		return nil, d, fmt.Errorf("%s: layer %s: %w", ref, ld.Digest, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		if isMissing(err) {
			return nil, d, fmt.Errorf("%s: layer %s missing from the registry: %w", ref, ld.Digest, err)
		}
		return nil, d, fmt.Errorf("%s: layer %s: %w", ref, ld.Digest, err)
	}
	return rc, d, nil
}

// rawManifest is a manifest to Put as is.
type rawManifest struct {
	data []byte
	mt   types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.data, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// Push implements Pusher: config and layer blobs, then the manifest
// tagged OCITag(id), then the index. The artifact is read into memory
// (drivers are a few megabytes).
func (s *OCIStore) Push(ctx context.Context, e Entry, r io.Reader) (Descriptor, error) {
	d, err := s.push(ctx, e, r)
	if err != nil {
		if ctx.Err() != nil {
			return d, ctx.Err()
		}
		return d, storeErr(s.Name(), err)
	}
	return d, nil
}

func (s *OCIStore) push(ctx context.Context, e Entry, r io.Reader) (Descriptor, error) {
	d, err := s.pushArtifact(ctx, e, r)
	if err != nil {
		return d, err
	}
	return d, s.addToIndex(ctx, []Entry{e})
}

func (s *OCIStore) pushArtifact(ctx context.Context, e Entry, r io.Reader) (Descriptor, error) {
	id := e.ID()
	d := Descriptor{Store: s.Name(), Size: e.Size, Digest: "sha256:" + e.SHA256}
	repo, err := s.repository(id.DriverName)
	if err != nil {
		return d, err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return d, err
	}
	layer := static.NewLayer(data, layerMediaType(id.Kind))
	if h, _ := layer.Digest(); h.Hex != e.SHA256 || int64(len(data)) != e.Size {
		return d, fmt.Errorf("%s: %w: read %d bytes %s, the entry says %d bytes sha256:%s", e.File, ErrIntegrity, len(data), h, e.Size, e.SHA256)
	}
	cfg, err := json.Marshal(e)
	if err != nil {
		return d, err
	}
	ann := map[string]string{AnnotationTitle: e.File, AnnotationDriverName: id.DriverName, AnnotationDriverVersion: id.DriverVersion,
		AnnotationKind: string(id.Kind), AnnotationArch: id.Arch, AnnotationTarget: id.TargetID,
		AnnotationKernelRelease: id.KernelRelease, AnnotationKernelVersion: id.KernelVersion}
	tag := repo.Tag(OCITag(id))
	md, err := s.putArtifact(ctx, tag, MediaTypeArtifact, static.NewLayer(cfg, MediaTypeConfig),
		[]v1.Layer{layer}, []map[string]string{{AnnotationTitle: e.File}}, ann)
	if err != nil {
		return d, err
	}
	d.Source = repo.Digest(md.String()).String()
	return d, nil
}

func (s *OCIStore) putArtifact(ctx context.Context, tag name.Tag, artifactType string, config v1.Layer, layers []v1.Layer, layerAnn []map[string]string, ann map[string]string) (v1.Hash, error) {
	opts := s.options(ctx)
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: artifactType, Annotations: ann}
	desc := func(l v1.Layer) (v1.Descriptor, error) {
		h, err := l.Digest()
		if err != nil {
			return v1.Descriptor{}, err
		}
		n, err := l.Size()
		if err != nil {
			return v1.Descriptor{}, err
		}
		mt, err := l.MediaType()
		return v1.Descriptor{MediaType: mt, Digest: h, Size: n}, err
	}
	for i, l := range append([]v1.Layer{config}, layers...) {
		if err := remote.WriteLayer(tag.Context(), l, opts...); err != nil {
			return v1.Hash{}, fmt.Errorf("%s: upload blob: %w", tag, err)
		}
		ld, err := desc(l)
		if err != nil {
			return v1.Hash{}, err
		}
		if i == 0 {
			m.Config = ld
			continue
		}
		ld.Annotations = layerAnn[i-1]
		m.Layers = append(m.Layers, ld)
	}
	raw, err := json.Marshal(&m)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Put(tag, rawManifest{raw, types.OCIManifestSchema1}, opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("%s: put manifest: %w", tag, err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	return h, err
}

// IndexFor returns the index of one driver's repository, verified when
// keys are configured.
func (s *OCIStore) IndexFor(ctx context.Context, driverName, driverVersion, arch string) (*Index, error) {
	return s.readIndex(ctx, driverName, driverVersion, arch, len(s.keys) > 0)
}

func (s *OCIStore) readIndex(ctx context.Context, driverName, driverVersion, arch string, verify bool) (*Index, error) {
	repo, err := s.repository(driverName)
	if err != nil {
		return nil, err
	}
	tag := repo.Tag(OCIIndexTag(driverVersion, arch))
	desc, err := remote.Get(tag, s.options(ctx)...)
	if isMissing(err) {
		return nil, fmt.Errorf("%w: no index %s", ErrNotFound, tag)
	}
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", tag, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", tag, err)
	}
	blob := func(mt types.MediaType) ([]byte, error) {
		i := slices.IndexFunc(m.Layers, func(l v1.Descriptor) bool { return l.MediaType == mt })
		if i < 0 {
			return nil, ErrNotFound
		}
		if m.Layers[i].Size > maxIndexSize {
			return nil, fmt.Errorf("index %s: layer larger than %d bytes", tag, maxIndexSize)
		}
		l, err := remote.Layer(tag.Context().Digest(m.Layers[i].Digest.String()), s.options(ctx)...)
		if err != nil {
			return nil, err
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(io.LimitReader(rc, maxIndexSize))
	}
	data, err := blob(MediaTypeIndex)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", tag, err)
	}
	if verify {
		sig, err := blob(MediaTypeIndexSignature)
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("index %s: %w: unsigned, and an index key is configured", tag, ErrSignature)
		}
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", tag, err)
		}
		if err := VerifyIndex(s.keys, data, sig); err != nil {
			return nil, fmt.Errorf("index %s: %w", tag, err)
		}
	}
	ix, err := ParseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", tag, err)
	}
	if ix.DriverVersion != driverVersion || ix.Arch != arch {
		return nil, fmt.Errorf("index %s: %w: it is for %s/%s", tag, ErrIntegrity, ix.DriverVersion, ix.Arch)
	}
	return ix, nil
}

// WriteIndex publishes the index of one driver's repository (signed when
// a sign key is configured).
func (s *OCIStore) WriteIndex(ctx context.Context, driverName string, ix *Index) error {
	repo, err := s.repository(driverName)
	if err != nil {
		return err
	}
	data, err := ix.Marshal()
	if err != nil {
		return err
	}
	layers := []v1.Layer{static.NewLayer(data, MediaTypeIndex)}
	ann := []map[string]string{{AnnotationTitle: IndexFile}}
	if s.signKey != nil {
		layers = append(layers, static.NewLayer(SignIndex(s.signKey, data), MediaTypeIndexSignature))
		ann = append(ann, map[string]string{AnnotationTitle: SignatureFile})
	}
	tag := repo.Tag(OCIIndexTag(ix.DriverVersion, ix.Arch))
	_, err = s.putArtifact(ctx, tag, MediaTypeIndexArtifact, static.NewLayer([]byte("{}"), MediaTypeEmpty),
		layers, ann, map[string]string{AnnotationDriverVersion: ix.DriverVersion, AnnotationArch: ix.Arch})
	return err
}
