package artifacts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// maxTagLen is the OCI distribution spec's limit on a tag.
const maxTagLen = 128

// OCIRepository is where an oci:// repo keeps one driver's artifacts:
// oci://registry/path → registry/path/<driver name>.
func OCIRepository(repo, driverName string) string {
	return strings.TrimRight(strings.TrimPrefix(repo, "oci://"), "/") + "/" + driverName
}

// OCITag is the artifact's tag: <driver version>_<arch>_<target>_<release>_<version>_<kind>
// reduced to the OCI tag charset [A-Za-z0-9_.-]. When anything had to be
// replaced or cut, a short hash of the raw string is appended, so two
// kernels never share a tag; the raw strings travel in annotations.
func OCITag(id ID) string {
	raw := strings.Join([]string{id.DriverVersion, id.Arch, id.TargetID, id.KernelRelease, id.KernelVersion, string(id.Kind)}, "_")
	var b strings.Builder
	changed := false
	for i, r := range raw {
		ok := r == '_' || r == '.' || r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')
		if i == 0 && (r == '.' || r == '-') {
			ok = false
		}
		if !ok {
			r = '_'
			changed = true
		}
		b.WriteRune(r)
	}
	tag := b.String()
	if !changed && len(tag) <= maxTagLen {
		return tag
	}
	sum := sha256.Sum256([]byte(raw))
	suffix := "-" + hex.EncodeToString(sum[:])[:12]
	if len(tag) > maxTagLen-len(suffix) {
		tag = tag[:maxTagLen-len(suffix)]
	}
	return tag + suffix
}

// OCIRef is the full reference of the artifact under an oci:// repo.
func OCIRef(repo string, id ID) string {
	return fmt.Sprintf("%s:%s", OCIRepository(repo, id.DriverName), OCITag(id))
}
