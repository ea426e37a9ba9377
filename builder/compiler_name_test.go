package builder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Headers naming their compiler by a path never get it run on the host:
// the name is looked up on PATH and run with -dumpversion, also when auto
// would then pick a container.
func TestCompilerNameNotAPath(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	evil := filepath.Join(t.TempDir(), "gcc-12")
	os.WriteFile(evil, []byte("#!/bin/sh\ntouch "+marker+"\necho 12.2.0\n"), 0o755)
	kdir := t.TempDir()
	os.WriteFile(filepath.Join(kdir, ".config"), []byte("CONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14) 12.2.0\"\n"), 0o644)
	os.WriteFile(filepath.Join(kdir, ".kernelvariables"), []byte("CC = $(CROSS_COMPILE)"+evil+"\n"), 0o644)
	c, err := ReadCompiler(kdir)
	if err == nil {
		_, err = HostCompiler(context.Background(), c, "")
	}
	if _, serr := os.Stat(marker); serr == nil {
		t.Fatalf("ran %s named by the headers (command %q)", evil, c.Command)
	}
	if !errors.Is(err, ErrNoCompiler) {
		t.Errorf("err = %v, want ErrNoCompiler", err)
	}
}
