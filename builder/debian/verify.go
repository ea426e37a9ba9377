package debian

import (
	"context"
	"errors"

	"github.com/kdriver/kdriver/builder/internal/gpgv"
)

// ErrSignature is returned when a Release file's OpenPGP signature does not
// verify against the configured keyring.
var ErrSignature = errors.New("release signature not valid")

// gpgvVerify checks signed data with gpgv against keyring. With sig nil the
// data is a clear-signed InRelease and the signed text is returned; with sig
// it is a detached Release.gpg and data itself is returned.
func gpgvVerify(ctx context.Context, keyring string, data, sig []byte) ([]byte, error) {
	return gpgv.Verify(ctx, keyring, data, sig, ErrSignature)
}
