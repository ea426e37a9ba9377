package debian

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ErrSignature is returned when a Release file's OpenPGP signature does not
// verify against the configured keyring.
var ErrSignature = errors.New("release signature not valid")

// gpgvVerify checks signed data with gpgv against keyring. With sig nil the
// data is a clear-signed InRelease and the signed text is returned; with sig
// it is a detached Release.gpg and data itself is returned.
func gpgvVerify(ctx context.Context, keyring string, data, sig []byte) ([]byte, error) {
	gpgv, err := exec.LookPath("gpgv")
	if err != nil {
		return nil, fmt.Errorf("verifying release signatures needs gpgv (apt-get install gpgv): %w", err)
	}
	dir, err := os.MkdirTemp("", "kdriver-gpgv-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	dataFile := filepath.Join(dir, "data")
	if err := os.WriteFile(dataFile, data, 0o600); err != nil {
		return nil, err
	}
	args := []string{"--quiet", "--keyring", keyring}
	if sig == nil {
		outFile := filepath.Join(dir, "out")
		args = append(args, "--output", outFile, dataFile)
		cmd := exec.CommandContext(ctx, gpgv, args...)
		cmd.Env = []string{"LC_ALL=C", "PATH=" + os.Getenv("PATH")}
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%w (keyring %s): %s", ErrSignature, keyring, bytes.TrimSpace(msg))
		}
		return os.ReadFile(outFile)
	}
	sigFile := filepath.Join(dir, "sig")
	if err := os.WriteFile(sigFile, sig, 0o600); err != nil {
		return nil, err
	}
	args = append(args, sigFile, dataFile)
	cmd := exec.CommandContext(ctx, gpgv, args...)
	cmd.Env = []string{"LC_ALL=C", "PATH=" + os.Getenv("PATH")}
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%w (keyring %s): %s", ErrSignature, keyring, bytes.TrimSpace(msg))
	}
	return data, nil
}
