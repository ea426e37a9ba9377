package builder

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A container (running the header packages' Makefiles) that leaves a
// symlink to a host file in place of the module: the host never reads
// through it.
func TestDockerOutputNotReadThroughSymlink(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("SECRET"), 0o600)
	bin := filepath.Join(t.TempDir(), "docker")
	script := `#!/bin/sh
# a fake docker: images exist; "run" plants a link in the job folder
case "$1" in
image) exit 0 ;;
run)
	for a; do case "$a" in *:/kdriver/job) dir=${a%:/kdriver/job} ;; esac; done
	ln -s "` + secret + `" "$dir/out/hello.ko" ;;
esac
`
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	d := &Docker{Bin: bin}
	res, err := d.Build(context.Background(), Job{
		Name: "t", Script: "true", Root: t.TempDir(), Source: t.TempDir(), Artifact: "hello.ko", Suite: "bookworm",
		Compiler: Compiler{Family: "gcc", Major: 12, Command: "gcc-12"},
	})
	if err == nil || strings.Contains(string(res.Artifact), "SECRET") {
		t.Fatalf("artifact %q, err %v: read a host file through the job's symlink", res.Artifact, err)
	}
}
