package rpm

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/builder/download"
)

// serveRepo serves testdata/primary.xml gzip'd under repodata/, with a
// repomd.xml giving its SHA256 (or a wrong one).
func serveRepo(t *testing.T, wrongSum bool) *httptest.Server {
	t.Helper()
	primary, err := os.ReadFile("testdata/primary.xml")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(primary)
	w.Close()
	sum := fmt.Sprintf("%x", sha256.Sum256(gz.Bytes()))
	if wrongSum {
		sum = strings.Repeat("0", 64)
	}
	repomd := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo">
  <revision>1</revision>
  <data type="filelists"><checksum type="sha256">%s</checksum><location href="repodata/x-filelists.xml.gz"/></data>
  <data type="primary"><checksum type="sha256">%s</checksum><location href="repodata/abc-primary.xml.gz"/><size>%d</size></data>
</repomd>`, strings.Repeat("9", 64), sum, gz.Len())
	files := map[string][]byte{"/repodata/repomd.xml": []byte(repomd), "/repodata/abc-primary.xml.gz": gz.Bytes()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, ok := files[r.URL.Path]; ok {
			w.Write(b)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestKernels(t *testing.T) {
	srv := serveRepo(t, false)
	repo := &Repo{URL: srv.URL + "/", Client: srv.Client()}
	p, err := repo.Primary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ks := repo.Kernels(p, "rhel", "centos", "x86_64")
	if len(ks) != 1 {
		t.Fatalf("got %d targets, want 1", len(ks))
	}
	k := ks[0]
	if k.KernelRelease != "5.14.0-427.13.1.el9_4.x86_64" || k.Packages[0].URL != srv.URL+"/Packages/kernel-devel-5.14.0-427.13.1.el9_4.x86_64.rpm" ||
		k.Packages[0].Size != 20000000 || k.Packages[0].SHA256 != strings.Repeat("1", 64) {
		t.Errorf("got %+v", k)
	}
	if err := k.Validate(); err != nil {
		t.Error(err)
	}
}

func TestPrimaryDigestMismatch(t *testing.T) {
	srv := serveRepo(t, true)
	repo := &Repo{URL: srv.URL, Client: srv.Client()}
	if _, err := repo.Primary(context.Background()); !errors.Is(err, download.ErrDigest) {
		t.Fatalf("err = %v, want ErrDigest", err)
	}
}

func FuzzParsePrimary(f *testing.F) {
	b, _ := os.ReadFile("testdata/primary.xml")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParsePrimary(bytes.NewReader(b))
		_, _ = ParseRepomd(bytes.NewReader(b))
	})
}
