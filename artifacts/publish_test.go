package artifacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestPublishTreeAndName: a Falco-layout tree gives version and arch by
// path (Debian spellings normalised), a lone file by its name and the
// defaults; each lands in the store with its real digest and the build
// information.
func TestPublishTreeAndName(t *testing.T) {
	src := t.TempDir()
	body := []byte("\x7fELF not really")
	sum := sha256.Sum256(body)
	tree := filepath.Join(src, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "2.0", "x86_64"), 0o755); err != nil {
		t.Fatal(err)
	}
	inTree := filepath.Join(tree, "2.0", "x86_64", "falco_debian_6.1.0-1-amd64_1.ko")
	lone := filepath.Join(src, "falco_ubuntu_5.15.0-1-generic_2.o")
	for _, f := range []string{inTree, lone} {
		if err := os.WriteFile(f, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dst, err := NewFileStore(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := &Publish{
		Stores:   []Pusher{dst},
		Defaults: ID{DriverName: "falco", DriverVersion: "1.0", Arch: "arm64"},
		Build:    map[string]string{"by": "test"},
	}
	out, err := p.Run(context.Background(), []string{tree, lone})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("pushed %d, want 2", len(out))
	}
	want := []struct{ version, arch, target string }{{"2.0", "x86_64", "debian"}, {"1.0", "aarch64", "ubuntu"}}
	for i, w := range want {
		e := out[i].Entry
		if e.DriverVersion != w.version || e.Arch != w.arch || e.TargetID != w.target {
			t.Errorf("entry %d = %s %s %s, want %s %s %s", i, e.DriverVersion, e.Arch, e.TargetID, w.version, w.arch, w.target)
		}
		if e.SHA256 != hex.EncodeToString(sum[:]) || e.Size != int64(len(body)) || e.Build["by"] != "test" {
			t.Errorf("entry %d: sha256 %s size %d build %v", i, e.SHA256, e.Size, e.Build)
		}
	}
}

// TestPublishRefusesWhatItCannotName: no arch, a name the overrides
// change, or an empty tree publish nothing and are input errors.
func TestPublishRefusesWhatItCannotName(t *testing.T) {
	src := t.TempDir()
	lone := filepath.Join(src, "falco_ubuntu_5.15.0-1-generic_2.ko")
	if err := os.WriteFile(lone, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dst, err := NewFileStore(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		d    ID
		args []string
	}{
		"no arch":   {ID{DriverName: "falco", DriverVersion: "1.0"}, []string{lone}},
		"renamed":   {ID{DriverName: "falco", DriverVersion: "1.0", Arch: "x86_64", TargetID: "debian"}, []string{lone}},
		"not ours":  {ID{DriverName: "other", DriverVersion: "1.0", Arch: "x86_64"}, []string{lone}},
		"bad arch":  {ID{DriverName: "falco", DriverVersion: "1.0", Arch: "mips"}, []string{lone}},
		"empty dir": {ID{DriverName: "falco"}, []string{t.TempDir()}},
	} {
		p := &Publish{Stores: []Pusher{dst}, Defaults: tc.d}
		if _, err := p.Run(context.Background(), tc.args); !errors.Is(err, ErrInput) {
			t.Errorf("%s: error %v, want ErrInput", name, err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("refused pushes left %d entries in the store", len(ents))
	}
}

// TestPublishReadsEntriesThroughTheCaller: FILE.json is read by ReadEntry
// (the command bounds it and refuses FIFOs), and its refusal publishes
// nothing.
func TestPublishReadsEntriesThroughTheCaller(t *testing.T) {
	src := t.TempDir()
	ko := filepath.Join(src, "any.ko")
	for _, f := range []string{ko, ko + ".json"} {
		if err := os.WriteFile(f, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	dst, err := NewFileStore(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused")
	var asked string
	p := &Publish{Stores: []Pusher{dst}, ReadEntry: func(path string) ([]byte, error) {
		asked = path
		return nil, refused
	}}
	if _, err := p.Run(context.Background(), []string{ko}); !errors.Is(err, refused) {
		t.Errorf("error %v, want ReadEntry's", err)
	}
	if asked != ko+".json" {
		t.Errorf("ReadEntry read %q, want %q", asked, ko+".json")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a refused entry left %d entries in the store", len(ents))
	}
}
