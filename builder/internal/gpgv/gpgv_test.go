package gpgv

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/kdriver/kdriver/internal/testenv"
)

// TestDearmor: the armored export of a key decodes to its binary export
// (with headers, CRLF line ends, and two keys in one file), and armor that
// is not a public key block is refused.
func TestDearmor(t *testing.T) {
	a, b := testenv.NewGPGKey(t, "a"), testenv.NewGPGKey(t, "b")
	read := func(p string) []byte {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	armA, armB := string(read(a.Armored)), string(read(b.Armored))
	for name, tt := range map[string]struct {
		in   string
		want []byte
	}{
		"one key":       {armA, read(a.Keyring)},
		"two keys":      {armA + "\n" + armB, append(read(a.Keyring), read(b.Keyring)...)},
		"CRLF, headers": {strings.ReplaceAll(strings.Replace(armA, "-----\n", "-----\nVersion: GnuPG v2\nComment: x\n", 1), "\n", "\r\n"), read(a.Keyring)},
	} {
		got, err := Dearmor([]byte(tt.in))
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("%s: %d bytes, %v; want %d bytes", name, len(got), err, len(tt.want))
		}
	}
	for name, in := range map[string]string{
		"private key": "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nmQ==\n-----END PGP PRIVATE KEY BLOCK-----\n",
		"no end":      strings.Split(armA, "-----END")[0],
		"bad base64":  "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nm!!!\n-----END PGP PUBLIC KEY BLOCK-----\n",
		"not packets": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\naGVsbG8=\n-----END PGP PUBLIC KEY BLOCK-----\n",
		"no armor":    "hello\n",
	} {
		if _, err := Dearmor([]byte(in)); !errors.Is(err, ErrArmor) {
			t.Errorf("%s: err = %v, want ErrArmor", name, err)
		}
	}
}
