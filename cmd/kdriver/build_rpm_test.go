package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/internal/testenv"
)

// TestBuildMatrixRPMKeyring: build matrix --rpm-repo with --rpm-keyring
// lists the kernels of a repository whose repomd.xml is signed with the
// key, exits 1 (as a bad Release signature does) saying what to do when it
// is signed with another key or not signed, and without --rpm-keyring
// lists them with a warning naming the flag.
func TestBuildMatrixRPMKeyring(t *testing.T) {
	key := testenv.NewGPGKey(t, "repo")
	other := testenv.NewGPGKey(t, "other")
	files := testenv.RPMRepodata(`<metadata><package type="rpm"><name>kernel-devel</name><arch>x86_64</arch>` +
		`<version epoch="0" ver="5.14.0" rel="427.13.1.el9_4"/><checksum type="sha256">` + strings.Repeat("1", 64) + `</checksum>` +
		`<size package="20000000"/><location href="Packages/kernel-devel-5.14.0-427.13.1.el9_4.x86_64.rpm"/></package></metadata>`)
	repomd := string(files["/repodata/repomd.xml"])
	signed := testenv.ServeFiles(t, map[string][]byte{"/repodata/repomd.xml.asc": []byte(key.DetachSign(repomd))}, files)
	unsigned := testenv.ServeFiles(t, files)
	config := t.TempDir() + "/config.yaml"
	if err := os.WriteFile(config, []byte("rpm-keyring: "+other.Keyring+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"signed", []string{"--rpm-repo", signed.URL, "--rpm-keyring", key.Armored}, exitOK, ""},
		{"another key", []string{"--rpm-repo", signed.URL, "--rpm-keyring", other.Keyring}, exitError, "--rpm-keyring must be the repository's signing key"},
		{"not signed", []string{"--rpm-repo", unsigned.URL, "--rpm-keyring", key.Keyring}, exitError, "repomd.xml.asc is missing"},
		{"another key, from --config", []string{"--rpm-repo", signed.URL, "--config", config}, exitError, "repomd.xml signature not valid"},
		{"no keyring", []string{"--rpm-repo", unsigned.URL}, exitOK, "give --rpm-keyring"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"kdriver", "build", "matrix", "--arches", "amd64"}, tt.args...)
			if code := run(context.Background(), args, &stdout, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.stderr)
			}
			if tt.stderr != "give --rpm-keyring" && strings.Contains(stderr.String(), "signatures not checked") {
				t.Errorf("warned with a keyring: %s", stderr.String())
			}
			if tt.code == exitOK && !strings.Contains(stdout.String(), "5.14.0-427.13.1.el9_4.x86_64") {
				t.Errorf("stdout: %s", stdout.String())
			}
		})
	}
}
