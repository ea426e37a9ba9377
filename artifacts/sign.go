package artifacts

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// SignatureFile is the name of an index's detached signature: the base64
// ed25519 signature of the exact bytes of index.json, on one line.
const SignatureFile = IndexFile + ".sig"

// SignIndex signs the exact bytes of an index.
func SignIndex(key ed25519.PrivateKey, index []byte) []byte {
	sig := ed25519.Sign(key, index)
	return []byte(base64.StdEncoding.EncodeToString(sig) + "\n")
}

// VerifyIndex checks a detached signature against any of the keys.
func VerifyIndex(keys []ed25519.PublicKey, index, sigFile []byte) error {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sigFile)))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: %s is not a base64 ed25519 signature", ErrSignature, SignatureFile)
	}
	for _, k := range keys {
		if ed25519.Verify(k, index, sig) {
			return nil
		}
	}
	return fmt.Errorf("%w: does not verify with the configured key(s): the index was changed or signed with another key", ErrSignature)
}

// GenerateKey returns a new key pair as PEM: PKCS#8 private key and PKIX
// public key, the formats `openssl genpkey -algorithm ed25519` uses.
func GenerateKey() (private, public []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	pk, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk}), nil
}

// ParsePublicKeys reads every "PUBLIC KEY" PEM block (ed25519) in data;
// several keys allow rotation.
func ParsePublicKeys(data []byte) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "PUBLIC KEY" {
			continue
		}
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		ek, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key: %T, want ed25519", k)
		}
		keys = append(keys, ek)
	}
	if len(keys) == 0 {
		return nil, errors.New("public key: no PEM \"PUBLIC KEY\" block (make one with `kdriver artifact keygen` or `openssl pkey -pubout`)")
	}
	return keys, nil
}

// ParsePrivateKey reads a PKCS#8 PEM ed25519 private key.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, errors.New("private key: no PEM \"PRIVATE KEY\" block (PKCS#8, as `openssl genpkey -algorithm ed25519` writes)")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key: %T, want ed25519", k)
	}
	return ek, nil
}

// parseHexDigest checks a hex sha256 (optionally "sha256:"-prefixed) and
// returns it lower-case without prefix.
func parseHexDigest(s string) (string, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "sha256:")
	if len(s) != 64 {
		return "", fmt.Errorf("sha256 %q: want 64 hex digits", s)
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", fmt.Errorf("sha256 %q: not hex", s)
	}
	return strings.ToLower(s), nil
}

// parseSidecar reads a .sha256 file: "<hex>" or "<hex>  <file>" (sha256sum).
func parseSidecar(data []byte) (string, error) {
	if len(data) > 4096 {
		return "", errors.New(".sha256 sidecar: too large")
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "", errors.New(".sha256 sidecar: empty")
	}
	// An HTML error page served with 200 is not a digest.
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("<")) {
		return "", errors.New(".sha256 sidecar: got an HTML page")
	}
	return parseHexDigest(f[0])
}
