package artifacts

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/kdriver/kdriver/internal/testenv"
)

// publish pushes the artifacts to p and returns their bytes by ID.
func publish(t *testing.T, p Pusher, ids ...ID) map[ID][]byte {
	t.Helper()
	out := map[ID][]byte{}
	for i, id := range ids {
		body := elfBytes(t, 4096+i*100)
		e := EntryFor(id)
		e.SHA256, e.Size = hexSum(body), int64(len(body))
		e.Build = map[string]string{"compiler": "gcc-12", "builder": "test"}
		if _, err := p.Push(context.Background(), e, bytes.NewReader(body)); err != nil {
			t.Fatalf("push %s: %v", id.FileName(), err)
		}
		out[id] = body
	}
	return out
}

func withKernel(id ID, kind Kind, release string) ID {
	id.Kind, id.KernelRelease = kind, release
	return id
}

// realRegistry starts Debian's docker-registry on 127.0.0.1 with a
// temporary config and returns its address.
func realRegistry(t *testing.T) string { return testenv.StartRegistry(t) }

// TestRoundTrip pushes to each kind of store and fetches back the same
// bytes; a later fetch of a missing kernel names the nearest builds.
func TestRoundTrip(t *testing.T) {
	priv, pub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signKey, _ := ParsePrivateKey(priv)
	pubKeys, _ := ParsePublicKeys(pub)

	type setup struct {
		push  string // repo URL to publish to
		fetch string // repo URL to fetch from
	}
	stores := []struct {
		name string
		make func(t *testing.T) setup
	}{
		{"file", func(t *testing.T) setup {
			d := "file://" + t.TempDir()
			return setup{d, d}
		}},
		{"http layout dir", func(t *testing.T) setup {
			dir := t.TempDir()
			s := httptest.NewServer(http.FileServer(http.Dir(dir)))
			t.Cleanup(s.Close)
			return setup{dir, s.URL}
		}},
		{"oci in-memory", func(t *testing.T) setup {
			s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
			t.Cleanup(s.Close)
			r := "oci://" + strings.TrimPrefix(s.URL, "http://") + "/drivers"
			return setup{r, r}
		}},
		{"oci docker-registry", func(t *testing.T) setup {
			r := "oci://" + realRegistry(t) + "/falcosecurity/drivers"
			return setup{r, r}
		}},
	}
	ids := []ID{
		testID,
		withKernel(testID, KindEBPF, testID.KernelRelease),
		withKernel(testID, KindKmod, "5.15.0-1058-aws"),
		withKernel(testID, KindKmod, "5.15.0-1061-aws"),
		withKernel(testID, KindKmod, "4.15.0-1000-aws"),
	}
	for _, st := range stores {
		for _, signed := range []bool{false, true} {
			name := st.name
			if signed {
				name += " signed"
			}
			t.Run(name, func(t *testing.T) {
				su := st.make(t)
				o := Options{HTTP: fastHTTP()}
				if signed {
					o.SignKey = signKey
				}
				ps, err := Open(su.push, o)
				if err != nil {
					// a plain directory path
					ps, err = NewFileStore(su.push, o)
				}
				if err != nil {
					t.Fatal(err)
				}
				bodies := publish(t, ps.(Pusher), ids...)
				fo := Options{HTTP: fastHTTP()}
				if signed {
					fo.IndexKeys = pubKeys
				}
				fs, err := Open(su.fetch, fo)
				if err != nil {
					t.Fatal(err)
				}
				c := &Cache{Dir: t.TempDir()}
				for _, id := range ids {
					r, err := c.Fetch(context.Background(), fs, id, FetchOptions{RequireDigest: true})
					if err != nil {
						t.Fatalf("fetch %s: %v", id.FileName(), err)
					}
					if r.SHA256 != hexSum(bodies[id]) || r.From.Digest != "sha256:"+r.SHA256 || r.From.Signed != signed {
						t.Errorf("fetch %s: sha256 %s from %+v, pushed %s", id.FileName(), r.SHA256, r.From, hexSum(bodies[id]))
					}
				}
				missing := withKernel(testID, KindKmod, "5.15.0-1059-aws")
				missing.KernelVersion = "66~20.04.1"
				_, err = c.Fetch(context.Background(), fs, missing, FetchOptions{})
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("fetch of a missing kernel: %v, want ErrNotFound", err)
				}
				want := "no kmod build for ubuntu-aws 5.15.0-1059-aws (66~20.04.1); nearest builds: ubuntu-aws 5.15.0-1059-aws (65~20.04.1), ubuntu-aws 5.15.0-1058-aws (65~20.04.1), ubuntu-aws 5.15.0-1061-aws (65~20.04.1)"
				if !strings.Contains(err.Error(), want) {
					t.Errorf("miss explained as\n%v\nwant it to contain\n%s", err, want)
				}
			})
		}
	}
}

// TestLayoutIntegrity: a tampered artifact, an index signed by another
// key and an unsigned index are refused and leave nothing in the cache.
func TestLayoutIntegrity(t *testing.T) {
	priv, pub, _ := GenerateKey()
	signKey, _ := ParsePrivateKey(priv)
	keys, _ := ParsePublicKeys(pub)
	_, otherPub, _ := GenerateKey()
	otherKeys, _ := ParsePublicKeys(otherPub)

	tests := []struct {
		name    string
		sign    bool
		keys    []ed25519.PublicKey
		tamper  func(t *testing.T, dir string)
		wantErr string
		is      error
	}{
		{name: "tampered artifact", tamper: func(t *testing.T, dir string) {
			p := filepath.Join(dir, testID.DriverVersion, testID.Arch, testID.FileName())
			b, _ := os.ReadFile(p)
			b[100] ^= 1
			os.WriteFile(p, b, 0o644)
		}, wantErr: "the store publishes sha256", is: ErrIntegrity},
		{name: "replaced with a shorter file", tamper: func(t *testing.T, dir string) {
			p := filepath.Join(dir, testID.DriverVersion, testID.Arch, testID.FileName())
			os.WriteFile(p, elfMagic, 0o644)
		}, wantErr: "serves 4 bytes, the index says 4096", is: ErrIntegrity},
		{name: "signed by another key", sign: true, keys: otherKeys, wantErr: "does not verify with the configured key", is: ErrSignature},
		{name: "unsigned with a key configured", keys: keys, wantErr: "no index.json.sig beside it", is: ErrSignature},
		{name: "index changed after signing", sign: true, keys: keys, tamper: func(t *testing.T, dir string) {
			p := filepath.Join(dir, testID.DriverVersion, testID.Arch, IndexFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(`"gcc-12"`), []byte(`"gcc-13"`), 1), 0o644)
		}, wantErr: "does not verify", is: ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			o := Options{}
			if tt.sign {
				o.SignKey = signKey
			}
			ps, err := NewFileStore(dir, o)
			if err != nil {
				t.Fatal(err)
			}
			publish(t, ps, testID)
			if tt.tamper != nil {
				tt.tamper(t, dir)
			}
			srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
			defer srv.Close()
			fo := Options{HTTP: fastHTTP()}
			fo.IndexKeys = tt.keys
			fs, _ := NewHTTPStore(srv.URL, fo)
			c := &Cache{Dir: t.TempDir()}
			_, err = c.Fetch(context.Background(), fs, testID, FetchOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, tt.is) || errors.Is(err, ErrNotFound) {
				t.Fatalf("fetch: %v; want an error matching %v saying %q", err, tt.is, tt.wantErr)
			}
			if !strings.Contains(err.Error(), "store "+srv.URL) {
				t.Errorf("error does not name the store: %v", err)
			}
			assertNothingTrusted(t, c, testID)
		})
	}
}
