package testenv

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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
