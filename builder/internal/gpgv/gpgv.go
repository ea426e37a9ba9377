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

// Verify checks signed data with gpgv against keyring. With sig nil the
// data is clear-signed (an InRelease) and the signed text is returned; with
// sig (a detached signature, binary or armored) data itself is returned. A
// signature gpgv does not accept is returned wrapping bad, with the keyring
// and gpgv's message.
func Verify(ctx context.Context, keyring string, data, sig []byte, bad error) ([]byte, error) {
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

const maxKeyring = 16 << 20

// BinaryKeyring returns a keyring file gpgv reads. gpgv (2.2) reads only
// binary keyrings, while RPM-GPG-KEY-* and apt's .asc files are armored: an
// armored file is decoded (every PUBLIC KEY BLOCK of it, in order) into a
// temporary file that done removes. A binary file is returned as is.
func BinaryKeyring(path string) (keyring string, done func(), err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("keyring: %w", err)
	}
	if len(b) > maxKeyring {
		return "", nil, fmt.Errorf("keyring %s: more than %d bytes", path, maxKeyring)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----BEGIN ")) {
		return path, func() {}, nil
	}
	bin, err := Dearmor(b)
	if err != nil {
		return "", nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	f, err := os.CreateTemp("", "kdriver-keyring-*.gpg")
	if err != nil {
		return "", nil, err
	}
	_, err = f.Write(bin)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", nil, err
	}
	return f.Name(), func() { os.Remove(f.Name()) }, nil
}

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
