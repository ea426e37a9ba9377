package rpm

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kdriver/kdriver/builder/download"
	"github.com/kdriver/kdriver/internal/testenv"
)

// TestRepomdSignature: with a keyring, repomd.xml is checked against
// repomd.xml.asc before it is parsed, and nothing it names is fetched
// unless the signature verifies; without one it is trusted as fetched.
func TestRepomdSignature(t *testing.T) {
	key := testenv.NewGPGKey(t, "repo")
	other := testenv.NewGPGKey(t, "other")
	primary, err := os.ReadFile("testdata/primary.xml")
	if err != nil {
		t.Fatal(err)
	}
	files := testenv.RPMRepodata(string(primary))
	repomd := string(files["/repodata/repomd.xml"])
	asc := key.DetachSign(repomd)
	tampered := strings.Replace(repomd, "<revision>1</revision>", "<revision>2</revision>", 1)
	tests := []struct {
		name, repomd, asc, keyring string
		want                       error // nil: the kernels are listed
	}{
		{"signed", repomd, asc, key.Keyring, nil},
		{"signed, armored keyring", repomd, asc, key.Armored, nil},
		{"tampered repomd.xml", tampered, asc, key.Keyring, ErrSignature},
		{"tampered, not even XML", "<repomd", asc, key.Keyring, ErrSignature},
		{"no repomd.xml.asc", repomd, "", key.Keyring, ErrSignature},
		{"no repomd.xml.asc: not found", repomd, "", key.Keyring, download.ErrNotFound},
		{"signature not OpenPGP", repomd, "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n", key.Keyring, ErrSignature},
		{"another key's keyring", repomd, asc, other.Keyring, ErrSignature},
		{"another key's armored keyring", repomd, asc, other.Armored, ErrSignature},
		{"signed by another key", repomd, other.DetachSign(repomd), key.Keyring, ErrSignature},
		{"no keyring: trusted as fetched", tampered, "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var primaryGets atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/repodata/repomd.xml":
					w.Write([]byte(tt.repomd))
				case r.URL.Path == "/repodata/repomd.xml.asc" && tt.asc != "":
					w.Write([]byte(tt.asc))
				case files[r.URL.Path] != nil:
					primaryGets.Add(1)
					w.Write(files[r.URL.Path])
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			repo := &Repo{URL: srv.URL, Client: srv.Client(), Keyring: tt.keyring}
			p, err := repo.Primary(context.Background())
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil {
				t.Log(err)
				if primaryGets.Load() != 0 {
					t.Errorf("the primary index was fetched after the signature failed")
				}
				if tt.want == ErrSignature && !strings.Contains(err.Error(), srv.URL) {
					t.Errorf("error does not name the repository: %v", err)
				}
				return
			}
			if ks := repo.Kernels(p, "rhel", "centos", "x86_64"); len(ks) != 1 || ks[0].KernelRelease != "5.14.0-427.13.1.el9_4.x86_64" {
				t.Errorf("kernels %+v", ks)
			}
		})
	}
}

// TestRepomdSignatureKeyringErrors: a keyring that cannot be read, or
// armor that holds no public key, is said so (not as a bad signature).
func TestRepomdSignatureKeyringErrors(t *testing.T) {
	key := testenv.NewGPGKey(t, "repo")
	files := testenv.RPMRepodata("<metadata/>")
	repomd := string(files["/repodata/repomd.xml"])
	files["/repodata/repomd.xml.asc"] = []byte(key.DetachSign(repomd))
	srv := testenv.ServeFiles(t, files)
	dir := t.TempDir()
	private := dir + "/private.asc"
	os.WriteFile(private, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nAAAA\n-----END PGP PRIVATE KEY BLOCK-----\n"), 0o600)
	for _, tt := range []struct{ keyring, want string }{
		{dir + "/missing.gpg", "no such file"},
		{private, "want a -----BEGIN PGP PUBLIC KEY BLOCK-----"},
	} {
		repo := &Repo{URL: srv.URL, Client: srv.Client(), Keyring: tt.keyring}
		_, err := repo.Primary(context.Background())
		if err == nil || errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("keyring %s: err = %v, want %q", tt.keyring, err, tt.want)
		}
	}
}

// TestPrimaryEmptyDigest: a primary index whose sha256 in repomd.xml is
// empty is refused, not fetched unchecked.
func TestPrimaryEmptyDigest(t *testing.T) {
	files := testenv.RPMRepodata("<metadata/>")
	repomd := string(files["/repodata/repomd.xml"])
	i := strings.Index(repomd, `<checksum type="sha256">`) + len(`<checksum type="sha256">`)
	files["/repodata/repomd.xml"] = []byte(repomd[:i] + repomd[i+64:])
	srv := testenv.ServeFiles(t, files)
	repo := &Repo{URL: srv.URL, Client: srv.Client()}
	if _, err := repo.Primary(context.Background()); !errors.Is(err, download.ErrDigest) {
		t.Fatalf("err = %v, want ErrDigest", err)
	}
}
