package debian

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kdriver/kdriver/builder/download"
	"github.com/kdriver/kdriver/builder/matrix"
	"github.com/ulikunitz/xz"
)

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "1.1", -1},
		{"6.1.192-2", "6.1.176-1", 1},
		{"6.12.117-1~deb12u1", "6.12.117-1", -1},
		{"1.0~rc1", "1.0", -1},
		{"1:1.0", "2.0", 1},
		{"1.0a", "1.0", 1},
		{"1.0+b1", "1.0", 1},
		{"1.0-1", "1.0-1.1", -1},
		{"10", "9", 1},
		{"000123", "123", 0},
		{"99999999999999999999", "99999999999999999998", 1},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_vs_"+tt.b, func(t *testing.T) {
			got := CompareVersions(tt.a, tt.b)
			if sign(got) != tt.want {
				t.Errorf("CompareVersions(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.want)
			}
			if sign(CompareVersions(tt.b, tt.a)) != -tt.want {
				t.Errorf("not antisymmetric")
			}
		})
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestParseRelations(t *testing.T) {
	got, err := ParseRelations("linux-headers-6.1.0-56-common (= 6.1.192-2), linux-kbuild-6.1 (>= 6.1.192-2),\n linux-image-x (= 1) | linux-image-x-unsigned (= 1), gcc-12:native [amd64] <!nocheck>, b (<< 2)")
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, g := range got {
		var alts []string
		for _, r := range g {
			alts = append(alts, r.String())
		}
		s = append(s, strings.Join(alts, " | "))
	}
	want := "linux-headers-6.1.0-56-common (= 6.1.192-2); linux-kbuild-6.1 (>= 6.1.192-2); linux-image-x (= 1) | linux-image-x-unsigned (= 1); gcc-12:native; b (<< 2)"
	if strings.Join(s, "; ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(s, "; "), want)
	}
	for _, bad := range []string{"a (>= )", "a (1)", "a b", "a )("} {
		if _, err := ParseRelations(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseRelations(%q) = %v, want ErrSyntax", bad, err)
		}
	}
}

func TestParseControlInRelease(t *testing.T) {
	in := `-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA512

Suite: bookworm
Architectures: amd64 arm64
SHA256:
 ` + strings.Repeat("a", 64) + ` 10 main/binary-amd64/Packages.xz
-----BEGIN PGP SIGNATURE-----

iQIzBAEBCgAdFiEE
-----END PGP SIGNATURE-----
`
	rel, err := ParseRelease(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if rel.Suite != "bookworm" || len(rel.Architectures) != 2 || rel.Files["main/binary-amd64/Packages.xz"].Size != 10 {
		t.Errorf("got %+v", rel)
	}
}

func TestHostSources(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/apt/sources.list":                   {Data: []byte("# comment\ndeb [arch=amd64,arm64 signed-by=/k.gpg] http://127.0.0.1/a bookworm main contrib\ndeb-src http://127.0.0.1/a bookworm main\n")},
		"etc/apt/sources.list.d/b.sources":       {Data: []byte("Types: deb deb-src\nURIs: http://127.0.0.1/b\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/b.gpg\n\nTypes: deb\nURIs: http://127.0.0.1/c\nSuites: sid\nComponents: main\nEnabled: no\n")},
		"etc/apt/sources.list.d/x.list.disabled": {Data: []byte("deb http://127.0.0.1/x sid main\n")},
	}
	got, err := HostSources(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{
		{URI: "http://127.0.0.1/a", Suites: []string{"bookworm"}, Components: []string{"main", "contrib"}, Architectures: []string{"amd64", "arm64"}, SignedBy: "/k.gpg"},
		{URI: "http://127.0.0.1/b", Suites: []string{"bookworm", "bookworm-updates"}, Components: []string{"main"}, Architectures: []string{}, SignedBy: "/usr/share/keyrings/b.gpg"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

// fixtureArchive serves a suite "bookworm" with the given Packages text per
// arch, compressed with xz, listed in a Release with the right digests.
// corrupt names an index path whose listed digest is wrong.
func fixtureArchive(t *testing.T, packages map[string]string, corrupt string) *httptest.Server {
	t.Helper()
	files := map[string][]byte{}
	var sums strings.Builder
	for arch, text := range packages {
		var buf bytes.Buffer
		w, err := xz.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(text))
		w.Close()
		p := "main/binary-" + arch + "/Packages.xz"
		files["/dists/bookworm/"+p] = buf.Bytes()
		sum := sha256.Sum256(buf.Bytes())
		h := hex.EncodeToString(sum[:])
		if p == corrupt {
			h = strings.Repeat("0", 64)
		}
		fmt.Fprintf(&sums, " %s %d %s\n", h, buf.Len(), p)
	}
	files["/dists/bookworm/Release"] = []byte("Suite: bookworm\nArchitectures: amd64 arm64\nComponents: main\nSHA256:\n" + sums.String())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func stanza(name, version, arch, depends string) string {
	s := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\n", name, version, arch)
	if depends != "" {
		s += "Depends: " + depends + "\n"
	}
	sum := sha256.Sum256([]byte(name + version + arch))
	return s + fmt.Sprintf("Filename: pool/%s_%s_%s.deb\nSize: 1000\nSHA256: %x\n\n", name, version, arch, sum)
}

func TestKernels(t *testing.T) {
	amd64 := stanza("linux-headers-amd64", "6.1.192-2", "amd64", "linux-headers-6.1.0-56-amd64 (= 6.1.192-2)") +
		stanza("linux-headers-6.1.0-56-amd64", "6.1.192-2", "amd64", "linux-headers-6.1.0-56-common (= 6.1.192-2), linux-kbuild-6.1 (>= 6.1.192-2), linux-compiler-gcc-12-x86") +
		stanza("linux-headers-6.1.0-56-rt-amd64", "6.1.192-2", "amd64", "linux-headers-6.1.0-56-common-rt (= 6.1.192-2), linux-kbuild-6.1 (>= 6.1.192-2), linux-compiler-gcc-12-x86") +
		stanza("linux-headers-6.1.0-56-common", "6.1.192-2", "all", "") +
		stanza("linux-headers-6.1.0-56-common-rt", "6.1.192-2", "all", "") +
		stanza("linux-kbuild-6.1", "6.1.176-1", "amd64", "libc6") +
		stanza("linux-kbuild-6.1", "6.1.192-2", "amd64", "libc6")
	arm64 := stanza("linux-headers-6.12.117+deb12-arm64", "6.12.117-1~deb12u1", "arm64",
		"linux-base (>= 4.12~), linux-headers-6.12.117+deb12-common (= 6.12.117-1~deb12u1), linux-image-6.12.117+deb12-arm64 (= 6.12.117-1~deb12u1) | linux-image-6.12.117+deb12-arm64-unsigned (= 6.12.117-1~deb12u1), linux-kbuild-6.12.117+deb12, gcc-12") +
		stanza("linux-headers-6.12.117+deb12-common", "6.12.117-1~deb12u1", "all", "") +
		stanza("linux-kbuild-6.12.117+deb12", "6.12.117-1~deb12u1", "arm64", "")
	srv := fixtureArchive(t, map[string]string{
		"amd64": amd64 + stanza("linux-kbuild-6.12.117+deb12", "6.12.117-1~deb12u1", "amd64", ""),
		"arm64": arm64,
	}, "")
	ctx := context.Background()
	a := &Archive{URL: srv.URL, Client: srv.Client()}
	ix, err := LoadIndex(ctx, a, "bookworm", []string{"main"}, []string{"amd64", "arm64"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, arch := range []string{"amd64", "arm64"} {
		ks, err := ix.Kernels(arch, "amd64")
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range ks {
			if err := k.Validate(); err != nil {
				t.Error(err)
			}
			line := fmt.Sprintf("%s %s %s %s cc=%s:", k.Name, k.Arch, k.FixedKernelRelease, k.FixedKernelVersion, k.CompilerPackage)
			for _, p := range k.Packages {
				line += fmt.Sprintf(" %s=%s/%s/%s", p.Role, p.Name, p.Version, p.Arch)
			}
			got = append(got, line)
		}
	}
	want := []string{
		"debian-bookworm-6.1.0-56-amd64 x86_64 6.1.192-2-amd64 1 cc=linux-compiler-gcc-12-x86: headers=linux-headers-6.1.0-56-amd64/6.1.192-2/amd64 common=linux-headers-6.1.0-56-common/6.1.192-2/all kbuild=linux-kbuild-6.1/6.1.192-2/amd64",
		"debian-bookworm-6.1.0-56-rt-amd64 x86_64 6.1.192-2-rt-amd64 1 cc=linux-compiler-gcc-12-x86: headers=linux-headers-6.1.0-56-rt-amd64/6.1.192-2/amd64 common=linux-headers-6.1.0-56-common-rt/6.1.192-2/all kbuild=linux-kbuild-6.1/6.1.192-2/amd64",
		"debian-bookworm-6.12.117+deb12-arm64 aarch64 6.12.117-1-arm64 1 cc=gcc-12: headers=linux-headers-6.12.117+deb12-arm64/6.12.117-1~deb12u1/arm64 common=linux-headers-6.12.117+deb12-common/6.12.117-1~deb12u1/all kbuild=linux-kbuild-6.12.117+deb12/6.12.117-1~deb12u1/arm64 host-kbuild=linux-kbuild-6.12.117+deb12/6.12.117-1~deb12u1/amd64",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The matrix round-trips through its file format.
	ks, _ := ix.Kernels("amd64", "amd64")
	var buf bytes.Buffer
	if err := matrix.Write(&buf, &matrix.File{Version: 1, Targets: ks}); err != nil {
		t.Fatal(err)
	}
	back, err := matrix.Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back.Targets) != fmt.Sprint(ks) {
		t.Errorf("matrix round trip changed targets")
	}
}

func TestPackagesDigestMismatch(t *testing.T) {
	srv := fixtureArchive(t, map[string]string{"amd64": stanza("a", "1", "amd64", "")}, "main/binary-amd64/Packages.xz")
	a := &Archive{URL: srv.URL, Client: srv.Client()}
	_, err := LoadIndex(context.Background(), a, "bookworm", []string{"main"}, []string{"amd64"})
	if !errors.Is(err, download.ErrDigest) {
		t.Fatalf("err = %v, want ErrDigest", err)
	}
	if !strings.Contains(err.Error(), "Packages.xz") {
		t.Errorf("error does not name the file: %v", err)
	}
}

func FuzzParseControl(f *testing.F) {
	f.Add("Package: a\nVersion: 1\nDepends: b (>= 1) | c\n\nPackage: b\n Desc\n .\n")
	f.Add("-----BEGIN PGP SIGNED MESSAGE-----\nHash: X\n\nSuite: s\nSHA256:\n " + strings.Repeat("a", 64) + " 1 x\n")
	f.Fuzz(func(t *testing.T, s string) {
		paras, err := ParseControl(strings.NewReader(s))
		if err != nil {
			return
		}
		// Round trip: what was parsed, written back as deb822, parses to
		// the same paragraphs, keys in the same order, the same values.
		again, err := ParseControl(strings.NewReader(formatControl(paras)))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", formatControl(paras), err)
		}
		if len(again) != len(paras) {
			t.Fatalf("%d paragraphs, %d after a round trip", len(paras), len(again))
		}
		for i, p := range paras {
			if strings.Join(p.Keys(), "\x00") != strings.Join(again[i].Keys(), "\x00") {
				t.Fatalf("paragraph %d: keys %q, %q after a round trip", i, p.Keys(), again[i].Keys())
			}
			for _, k := range p.Keys() {
				if p.Get(k) != again[i].Get(k) {
					t.Fatalf("paragraph %d field %q: %q, %q after a round trip", i, k, p.Get(k), again[i].Get(k))
				}
			}
		}
		_, _ = ParseRelease(strings.NewReader(s))
		_, _ = ParsePackages(strings.NewReader(s))
		_, _ = ParseDeb822Sources(strings.NewReader(s))
		_, _ = ParseSourcesList(strings.NewReader(s))
	})
}

func FuzzParseRelations(f *testing.F) {
	f.Add("a (>= 1) | b:any [amd64] <!nocheck>, c (<< 2~)")
	f.Fuzz(func(t *testing.T, s string) {
		rels, err := ParseRelations(s)
		if err != nil {
			return
		}
		for _, g := range rels {
			for _, r := range g {
				if r.Name == "" {
					t.Fatalf("empty name from %q", s)
				}
				// Round trip: a relation's text parses back to itself.
				back, err := parseRelation(r.String())
				if err != nil || back != r {
					t.Fatalf("%q: %+v renders as %q, which parses to %+v, %v", s, r, r.String(), back, err)
				}
			}
		}
	})
}

func FuzzCompareVersions(f *testing.F) {
	f.Add("1:6.1.192-2", "6.12.117-1~deb12u1")
	f.Fuzz(func(t *testing.T, a, b string) {
		if sign(CompareVersions(a, b)) != -sign(CompareVersions(b, a)) {
			t.Fatalf("not antisymmetric: %q %q", a, b)
		}
		if CompareVersions(a, a) != 0 {
			t.Fatalf("%q != itself", a)
		}
	})
}

// formatControl writes paragraphs back as deb822 text: continuation lines
// indented, empty ones as " .", a blank line between paragraphs.
func formatControl(paras []Paragraph) string {
	var b strings.Builder
	for _, p := range paras {
		for _, k := range p.Keys() {
			lines := strings.Split(p.Get(k), "\n")
			b.WriteString(k + ": " + lines[0] + "\n")
			for _, l := range lines[1:] {
				if l == "" {
					l = "."
				}
				b.WriteString(" " + l + "\n")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
