package scap

import (
	"errors"
	"strings"
	"testing"
)

func TestVersionPacking(t *testing.T) {
	// PPM_API_VERSION(8, 0, 4): major 19 bits at 44, minor 20 at 24, patch 24 at 0.
	v := PackVersion(8, 0, 4)
	if uint64(v) != 8<<44|4 || v.String() != "8.0.4" {
		t.Fatalf("%#x %s", uint64(v), v)
	}
	if v := Version(3<<44 | 5<<24); v.Major() != 3 || v.Minor() != 5 || v.Patch() != 0 {
		t.Fatalf("%s", v)
	}
}

func TestCheckVersions(t *testing.T) {
	for _, c := range []struct {
		api, schema Version
		ok          bool
		pf          int
		says        string
	}{
		{PackVersion(8, 0, 3), PackVersion(3, 5, 0), true, 136, ""}, // trixie 0.20.0
		{PackVersion(8, 0, 4), PackVersion(4, 1, 0), true, 104, ""}, // sid 0.23.2
		{PackVersion(1, 0, 0), PackVersion(1, 0, 0), false, 0, "API 1.0.0 is the 2022 driver"},
		{PackVersion(9, 0, 0), PackVersion(4, 1, 0), false, 0, "module API 9.0.0, kdriver reads API 8.x"},
		{PackVersion(8, 1, 0), PackVersion(5, 0, 0), false, 0, "schema 5.0.0"},
	} {
		l, err := CheckVersions(c.api, c.schema)
		if c.ok {
			if err != nil || l.DropsPFOffset != c.pf {
				t.Errorf("%s/%s: %v, offset %d", c.api, c.schema, err, l.DropsPFOffset)
			}
			continue
		}
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s/%s: %v, want ErrUnsupported saying %q", c.api, c.schema, err, c.says)
		}
	}
}
