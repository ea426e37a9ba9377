package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// GPGKey is an OpenPGP signing key made for a test in a GNUPGHOME of its
// own (removed, with its gpg-agent, when the test ends).
type GPGKey struct {
	t    testing.TB
	home string
	// Keyring is the public key exported as a binary keyring file (what
	// gpgv --keyring reads); Armored is the same key ASCII-armored (as
	// RPM-GPG-KEY-* files are).
	Keyring, Armored string
}

// NewGPGKey makes an ed25519 signing key for name. Without gpg the test is
// skipped (failed under CI=true).
func NewGPGKey(t testing.TB, name string) *GPGKey {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		Missing(t, "gpg needed: apt-get install gpg")
	}
	home, err := os.MkdirTemp("/tmp", "kdg-") // short: gpg-agent's socket path
	if err != nil {
		t.Fatal(err)
	}
	k := &GPGKey{t: t, home: home}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	k.gpg("", "--quick-gen-key", name+" <"+name+"@kdriver.invalid>", "ed25519", "sign", "never")
	dir := t.TempDir()
	k.Keyring = filepath.Join(dir, name+".gpg")
	k.Armored = filepath.Join(dir, "RPM-GPG-KEY-"+name)
	if err := os.WriteFile(k.Keyring, []byte(k.gpg("", "--export")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.Armored, []byte(k.gpg("", "--armor", "--export")), 0o644); err != nil {
		t.Fatal(err)
	}
	return k
}

func (k *GPGKey) gpg(stdin string, args ...string) string {
	k.t.Helper()
	cmd := exec.Command("gpg", append([]string{"--batch", "--homedir", k.home, "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		k.t.Fatalf("gpg %v: %v", args, err)
	}
	return string(out)
}

// ClearSign returns text clear-signed (an InRelease).
func (k *GPGKey) ClearSign(text string) string { return k.gpg(text, "--clearsign") }

// DetachSign returns the armored detached signature of data (a
// repomd.xml.asc).
func (k *GPGKey) DetachSign(data string) string {
	return k.gpg(data, "--armor", "--detach-sign")
}
