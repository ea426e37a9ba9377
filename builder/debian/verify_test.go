package debian

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/internal/testenv"
)

func TestReleaseSignature(t *testing.T) {
	key := testenv.NewGPGKey(t, "archive")
	sign, keyring := key.ClearSign, key.Keyring
	otherKeyring := testenv.NewGPGKey(t, "other").Keyring
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
