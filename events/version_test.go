package events

import (
	"errors"
	"testing"
)

func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		major, minor, schema uint32
		ok                   bool
	}{
		{"same", APIVersionMajor, APIVersionMinor, SchemaVersion, true},
		{"newer-minor", APIVersionMajor, APIVersionMinor + 3, SchemaVersion, true},
		{"other-major", APIVersionMajor + 1, 0, SchemaVersion, false},
		{"other-schema", APIVersionMajor, APIVersionMinor, SchemaVersion + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckVersion("test driver", tc.major, tc.minor, tc.schema)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrVersion)) {
				t.Fatalf("CheckVersion(%d, %d, %d) = %v", tc.major, tc.minor, tc.schema, err)
			}
		})
	}
}
