package debian

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestReleaseValidUntil: a Release past its Valid-Until (a mirror that
// stopped syncing, or an attacker replaying an old signed index) is refused
// as apt refuses it, with the date in the message; one still valid, or one
// without the field, is taken; a field that is not a date is a syntax error.
func TestReleaseValidUntil(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, field string
		want        error
	}{
		{"expired", "Valid-Until: Mon, 30 Nov 2026 00:22:33 UTC\n", ErrExpired},
		{"valid", "Valid-Until: Mon, 07 Dec 2026 00:22:33 UTC\n", nil},
		{"numeric zone", "Valid-Until: Mon, 07 Dec 2026 00:22:33 +0000\n", nil},
		{"one-digit day", "Valid-Until: Mon, 7 Dec 2026 00:22:33 UTC\n", nil},
		{"absent", "", nil},
		{"not a date", "Valid-Until: next week\n", ErrSyntax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := "Suite: bookworm-security\n" + tc.field + "SHA256:\n " + strings.Repeat("a", 64) + " 1 main/binary-amd64/Packages\n"
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/dists/bookworm-security/InRelease" {
					http.NotFound(w, r)
					return
				}
				w.Write([]byte(body))
			}))
			defer srv.Close()
			a := &Archive{URL: srv.URL, Client: srv.Client(), Now: func() time.Time { return now }}
			rel, err := a.Release(context.Background(), "bookworm-security")
			if tc.want == nil {
				if err != nil || rel == nil {
					t.Fatalf("Release: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Release: %v, want %v", err, tc.want)
			}
			if tc.want == ErrExpired && !strings.Contains(err.Error(), "30 Nov 2026") {
				t.Errorf("the refusal does not say when it expired: %v", err)
			}
		})
	}
}
