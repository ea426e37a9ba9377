package debian

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/internal/testenv"
)

// signer makes an OpenPGP key in a GNUPGHOME of its own and returns a
// function that clear-signs text, and the public keyring file.
func signer(t *testing.T, name string) (func(string) string, string) {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		testenv.Missing(t, "gpg needed: apt-get install gpg")
	}
	home, err := os.MkdirTemp("/tmp", "kdg-") // short: gpg-agent's socket path
	if err != nil {
		t.Fatal(err)
	}
	gpg := func(stdin string, args ...string) string {
		cmd := exec.Command("gpg", append([]string{"--batch", "--homedir", home, "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gpg %v: %v", args, err)
		}
		return string(out)
	}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	gpg("", "--quick-gen-key", name+" <"+name+"@kdriver.invalid>", "ed25519", "sign", "never")
	keyring := filepath.Join(t.TempDir(), name+".gpg")
	os.WriteFile(keyring, []byte(gpg("", "--export")), 0o644)
	return func(text string) string { return gpg(text, "--clearsign") }, keyring
}

func TestReleaseSignature(t *testing.T) {
	sign, keyring := signer(t, "archive")
	_, otherKeyring := signer(t, "other")
	release := "Suite: bookworm\nSHA256:\n " + strings.Repeat("a", 64) + " 10 main/binary-amd64/Packages.xz\n"
	inRelease := sign(release)
	tampered := strings.Replace(inRelease, " 10 main", " 11 main", 1)
	tests := []struct {
		name, body, keyring string
		want                error
	}{
		{"signed", inRelease, keyring, nil},
		{"tampered", tampered, keyring, ErrSignature},
		{"other key", inRelease, otherKeyring, ErrSignature},
		{"unsigned", release, keyring, ErrSignature},
		{"no keyring: trusted as fetched", tampered, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/dists/bookworm/InRelease" {
					w.Write([]byte(tt.body))
					return
				}
				http.NotFound(w, r)
			}))
			defer srv.Close()
			a := &Archive{URL: srv.URL, Client: srv.Client(), Keyring: tt.keyring}
			rel, err := a.Release(context.Background(), "bookworm")
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && rel.Suite != "bookworm" {
				t.Errorf("release %+v", rel)
			}
		})
	}
}
