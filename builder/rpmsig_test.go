package builder

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/builder/rpm"
	"github.com/kdriver/kdriver/internal/testenv"
)

// TestDiscoverRPMSignature: Kernels.RPMKeyring reaches the RPM reader
// (signed: listed; another key, or no repomd.xml.asc: rpm.ErrSignature),
// and without it discovery works and warns, naming --rpm-keyring.
func TestDiscoverRPMSignature(t *testing.T) {
	key := testenv.NewGPGKey(t, "repo")
	other := testenv.NewGPGKey(t, "other")
	primary, err := os.ReadFile("rpm/testdata/primary.xml")
	if err != nil {
		t.Fatal(err)
	}
	files := testenv.RPMRepodata(string(primary))
	signed := map[string][]byte{"/repodata/repomd.xml.asc": []byte(key.DetachSign(string(files["/repodata/repomd.xml"])))}
	signedURL, unsignedURL := testenv.ServeFiles(t, signed, files).URL, testenv.ServeFiles(t, files).URL
	for _, tt := range []struct {
		name, url, keyring string
		want               error
		warn               bool
	}{
		{"signed", signedURL, key.Armored, nil, false},
		{"another key", signedURL, other.Keyring, rpm.ErrSignature, false},
		{"no repomd.xml.asc", unsignedURL, key.Keyring, rpm.ErrSignature, false},
		{"no keyring", unsignedURL, "", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			k := &Kernels{RPMRepos: []string{tt.url}, RPMKeyring: tt.keyring, RPMDistro: "rhel", RPMTarget: "centos",
				Arches: []string{"amd64"}, HostArch: "x86_64", Logger: slog.New(slog.NewTextHandler(&log, nil))}
			ts, err := k.Discover(context.Background())
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && (len(ts) != 1 || ts[0].KernelRelease != "5.14.0-427.13.1.el9_4.x86_64") {
				t.Errorf("targets %+v", ts)
			}
			if warned := strings.Contains(log.String(), "level=WARN") && strings.Contains(log.String(), "--rpm-keyring"); warned != tt.warn {
				t.Errorf("warned %v, want %v: %s", warned, tt.warn, log.String())
			}
		})
	}
}
