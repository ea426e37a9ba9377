// Package gpgv checks OpenPGP signatures with gpgv against a keyring file,
// for the Debian and RPM metadata readers.
package gpgv

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Verify checks signed data with gpgv against keyring, a binary keyring
// file. With sig nil the data is clear-signed (an InRelease) and the signed
// text is returned; with sig (a detached signature, binary or armored) data
// itself is returned. A signature gpgv does not accept is returned wrapping
// bad, with the keyring and gpgv's message.
func Verify(ctx context.Context, keyring string, data, sig []byte, bad error) ([]byte, error) {
	return verify(ctx, keyring, nil, data, sig, bad)
}

// VerifyKeyFile is Verify for a keyring file that may also be ASCII-armored
// (RPM-GPG-KEY-* files are; gpgv 2.2 reads only binary keyrings): an
// armored file is decoded first (Dearmor).
func VerifyKeyFile(ctx context.Context, keyring string, data, sig []byte, bad error) ([]byte, error) {
	b, err := os.ReadFile(keyring)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----BEGIN ")) {
		return verify(ctx, keyring, nil, data, sig, bad)
	}
	bin, err := Dearmor(b)
	if err != nil {
		return nil, fmt.Errorf("keyring %s: %w", keyring, err)
	}
	return verify(ctx, keyring, bin, data, sig, bad)
}

// verify runs gpgv; with dearmored set it is the keyring's content, given
// to gpgv in a file of its own (errors still name keyring).
func verify(ctx context.Context, keyring string, dearmored, data, sig []byte, bad error) ([]byte, error) {
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
	keyFile := keyring
	if dearmored != nil {
		keyFile = filepath.Join(dir, "keyring.gpg")
		if err := os.WriteFile(keyFile, dearmored, 0o600); err != nil {
			return nil, err
		}
	}
	args := []string{"--quiet", "--keyring", keyFile}
	if sig == nil {
		outFile := filepath.Join(dir, "out")
		args = append(args, "--output", outFile, dataFile)
		cmd := exec.CommandContext(ctx, gpgv, args...)
		cmd.Env = []string{"LC_ALL=C", "PATH=" + os.Getenv("PATH")}
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%w (keyring %s): %s", bad, keyring, bytes.TrimSpace(msg))
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
		return nil, fmt.Errorf("%w (keyring %s): %s", bad, keyring, bytes.TrimSpace(msg))
	}
	return data, nil
}

// ErrArmor is returned for a keyring file that starts as ASCII armor but
// holds no public key block that decodes.
var ErrArmor = errors.New("keyring armor")

// Dearmor decodes the PUBLIC KEY BLOCKs of an ASCII-armored file (RFC
// 9580 section 6.2) and returns their packets, concatenated. Armor headers
// are skipped; the CRC24 line is ignored, as RFC 9580 asks.
func Dearmor(b []byte) ([]byte, error) {
	const begin, end = "-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----END PGP PUBLIC KEY BLOCK-----"
	var out []byte
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(line, "-----BEGIN ") {
			continue
		}
		if line != begin {
			return nil, fmt.Errorf("%w: %q: want a %s (an exported public key)", ErrArmor, line, begin)
		}
		i++
		// Headers ("Version: …") up to the blank line; some writers leave
		// both out.
		for j := i; j < len(lines); j++ {
			l := strings.TrimSpace(lines[j])
			if l == "" {
				i = j + 1
				break
			}
			if !strings.Contains(l, ": ") {
				break
			}
		}
		var body strings.Builder
		closed := false
		for ; i < len(lines); i++ {
			l := strings.TrimSpace(lines[i])
			if l == end {
				closed = true
				break
			}
			if strings.HasPrefix(l, "=") || strings.Contains(l, ": ") {
				continue // the CRC24 line; a stray header
			}
			body.WriteString(l)
		}
		if !closed {
			return nil, fmt.Errorf("%w: no %s", ErrArmor, end)
		}
		pk, err := base64.StdEncoding.DecodeString(body.String())
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrArmor, err)
		}
		if len(pk) == 0 || pk[0]&0x80 == 0 {
			return nil, fmt.Errorf("%w: the block is not OpenPGP packets", ErrArmor)
		}
		out = append(out, pk...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no %s", ErrArmor, begin)
	}
	return out, nil
}
