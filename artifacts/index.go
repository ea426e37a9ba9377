package artifacts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// IndexFile is the name of the index in a driver version/arch folder.
const IndexFile = "index.json"

// IndexSchema is the version of the index format written by this package.
const IndexSchema = 1

// Index lists every artifact of one driver version and arch in a store.
type Index struct {
	Schema        int     `json:"schema"`
	DriverVersion string  `json:"driver_version"`
	Arch          string  `json:"arch"`
	Artifacts     []Entry `json:"artifacts"`
}

// Entry is one artifact in an index.
type Entry struct {
	File          string `json:"file"`
	DriverName    string `json:"driver_name"`
	DriverVersion string `json:"driver_version"`
	Kind          Kind   `json:"kind"`
	Arch          string `json:"arch"`
	TargetID      string `json:"target_id"`
	KernelRelease string `json:"kernel_release"`
	KernelVersion string `json:"kernel_version"`
	SHA256        string `json:"sha256"` // hex, no prefix
	Size          int64  `json:"size"`
	// Build describes how the artifact was built (compiler, headers,
	// builder, time, source commit …); free-form, written by the builder.
	Build map[string]string `json:"build,omitempty"`
}

// ID is the entry's artifact identity.
func (e Entry) ID() ID {
	return ID{DriverName: e.DriverName, DriverVersion: e.DriverVersion, Kind: e.Kind, Arch: e.Arch,
		TargetID: e.TargetID, KernelRelease: e.KernelRelease, KernelVersion: e.KernelVersion}
}

// EntryFor starts an entry for id.
func EntryFor(id ID) Entry {
	return Entry{File: id.FileName(), DriverName: id.DriverName, DriverVersion: id.DriverVersion, Kind: id.Kind,
		Arch: id.Arch, TargetID: id.TargetID, KernelRelease: id.KernelRelease, KernelVersion: id.KernelVersion}
}

// ParseIndex decodes and checks an index.
func ParseIndex(data []byte) (*Index, error) {
	var ix Index
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&ix); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if ix.Schema != IndexSchema {
		return nil, fmt.Errorf("index: schema %d not supported (want %d): upgrade kdriver", ix.Schema, IndexSchema)
	}
	seen := map[string]bool{}
	for i, e := range ix.Artifacts {
		if e.File == "" || strings.ContainsAny(e.File, "/\\") || e.File == "." || e.File == ".." {
			return nil, fmt.Errorf("index: artifact %d: bad file name %q", i, e.File)
		}
		if _, err := parseHexDigest(e.SHA256); err != nil {
			return nil, fmt.Errorf("index: artifact %s: %w", e.File, err)
		}
		if e.Size < 0 {
			return nil, fmt.Errorf("index: artifact %s: negative size", e.File)
		}
		if seen[e.File] {
			return nil, fmt.Errorf("index: artifact %s listed twice", e.File)
		}
		seen[e.File] = true
	}
	return &ix, nil
}

// Marshal encodes the index deterministically (artifacts sorted by file).
func (ix *Index) Marshal() ([]byte, error) {
	c := *ix
	c.Schema = IndexSchema
	c.Artifacts = slices.Clone(ix.Artifacts)
	slices.SortFunc(c.Artifacts, func(a, b Entry) int { return strings.Compare(a.File, b.File) })
	if c.Artifacts == nil {
		c.Artifacts = []Entry{}
	}
	data, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Lookup returns the entry for a file name.
func (ix *Index) Lookup(file string) (Entry, bool) {
	for _, e := range ix.Artifacts {
		if e.File == file {
			return e, true
		}
	}
	return Entry{}, false
}

// Put adds or replaces the entry with the same file name.
func (ix *Index) Put(e Entry) {
	for i := range ix.Artifacts {
		if ix.Artifacts[i].File == e.File {
			ix.Artifacts[i] = e
			return
		}
	}
	ix.Artifacts = append(ix.Artifacts, e)
}

// Nearest returns up to n entries of the same driver and kind closest to
// id: same target first, then the kernel release sharing the longest
// numeric prefix, then the nearest number where they first differ.
func (ix *Index) Nearest(id ID, n int) []Entry {
	type scored struct {
		e      Entry
		target bool
		common int
		dist   int
	}
	want := releaseNumbers(id.KernelRelease)
	var cands []scored
	for _, e := range ix.Artifacts {
		if e.DriverName != id.DriverName || e.Kind != id.Kind {
			continue
		}
		got := releaseNumbers(e.KernelRelease)
		common := 0
		for common < len(want) && common < len(got) && want[common] == got[common] {
			common++
		}
		dist := 0
		if common < len(want) && common < len(got) {
			dist = abs(want[common] - got[common])
		}
		cands = append(cands, scored{e, e.TargetID == id.TargetID, common, dist})
	}
	slices.SortStableFunc(cands, func(a, b scored) int {
		switch {
		case a.target != b.target:
			if a.target {
				return -1
			}
			return 1
		case a.common != b.common:
			return b.common - a.common
		case a.dist != b.dist:
			return a.dist - b.dist
		}
		return strings.Compare(a.e.File, b.e.File)
	})
	var out []Entry
	for i := 0; i < len(cands) && i < n; i++ {
		out = append(out, cands[i].e)
	}
	return out
}

// releaseNumbers is the sequence of numbers in a kernel release:
// 5.15.0-1059-aws → 5 15 0 1059.
func releaseNumbers(r string) []int {
	var out []int
	for _, f := range strings.FieldsFunc(r, func(c rune) bool { return c < '0' || c > '9' }) {
		n, err := strconv.Atoi(f)
		if err != nil {
			n = 1 << 30
		}
		out = append(out, n)
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// explainMiss says which builds exist near a missed artifact.
func explainMiss(id ID, ix *Index) string {
	near := ix.Nearest(id, 3)
	if len(near) == 0 {
		return fmt.Sprintf("no %s build for %s %s (the index lists %d artifacts, none for driver %s)",
			id.Kind, id.TargetID, id.KernelRelease, len(ix.Artifacts), id.DriverName)
	}
	names := make([]string, len(near))
	for i, e := range near {
		names[i] = e.TargetID + " " + e.KernelRelease + " (" + e.KernelVersion + ")"
	}
	return fmt.Sprintf("no %s build for %s %s (%s); nearest builds: %s",
		id.Kind, id.TargetID, id.KernelRelease, id.KernelVersion, strings.Join(names, ", "))
}
