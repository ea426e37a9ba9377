package testenv

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// RPMRepodata returns an RPM repository's metadata for the primary.xml
// text, keyed by URL path: /repodata/repomd.xml naming
// repodata/<sha256>-primary.xml.gz with its SHA256 and size, and that
// file.
func RPMRepodata(primary string) map[string][]byte {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(primary))
	w.Close()
	s := sha256.Sum256(gz.Bytes())
	sum := hex.EncodeToString(s[:])
	href := "repodata/" + sum + "-primary.xml.gz"
	repomd := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<repomd>
  <revision>1</revision>
  <data type="primary"><checksum type="sha256">%s</checksum><location href="%s"/><size>%d</size></data>
</repomd>
`, sum, href, gz.Len())
	return map[string][]byte{"/repodata/repomd.xml": []byte(repomd), "/" + href: gz.Bytes()}
}

// ServeFiles serves the files of the maps (URL path → bytes; the first map
// that has a path wins) on 127.0.0.1 until the test ends, 404 otherwise.
func ServeFiles(t testing.TB, files ...map[string][]byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, f := range files {
			if b, ok := f[r.URL.Path]; ok {
				w.Write(b)
				return
			}
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}
