package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadInputFileBound(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(p, make([]byte, maxConfigSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := readInputFile("--config", p, maxConfigSize)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("readInputFile(too large) = %v, want a usage error saying it is too large", err)
	}
	if err := os.WriteFile(p, []byte("arch: x86_64\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := readInputFile("--config", p, maxConfigSize); err != nil || string(data) != "arch: x86_64\n" {
		t.Fatalf("readInputFile = %q, %v", data, err)
	}
}
