package events

import (
	"errors"
	"fmt"
)

// ErrVersion is returned when a driver writes another major API version
// or another schema than this reader decodes.
var ErrVersion = errors.New("event format version mismatch")

// CheckVersion checks the format version a driver (producer) says it
// writes against this reader's: the major API version and the schema must
// match; any minor version is accepted (minor changes are additive).
func CheckVersion(producer string, major, minor, schema uint32) error {
	if major != APIVersionMajor || schema != SchemaVersion {
		return fmt.Errorf("%s writes event API %d.%d schema %d, this kdriver reads API %d.x schema %d: %w (use a driver built from the same kdriver release)",
			producer, major, minor, schema, APIVersionMajor, SchemaVersion, ErrVersion)
	}
	return nil
}
