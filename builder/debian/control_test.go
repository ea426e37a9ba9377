package debian

import (
	"strings"
	"testing"
	"time"
)

// A field of many continuation lines (a crafted Release or Packages index,
// well under their size caps) parses in linear time, not hours.
func TestParseControlLongField(t *testing.T) {
	const n = 400_000
	in := "Package: x\nDescription: first\n" + strings.Repeat(" y\n", n) + "Version: 1\n"
	type result struct {
		ps  []Paragraph
		err error
	}
	done := make(chan result, 1)
	go func() {
		ps, err := ParseControl(strings.NewReader(in))
		done <- result{ps, err}
	}()
	select {
	case r := <-done:
		if r.err != nil || len(r.ps) != 1 {
			t.Fatalf("%d paragraphs, %v", len(r.ps), r.err)
		}
		d := r.ps[0].Get("Description")
		if strings.Count(d, "\n") != n || !strings.HasPrefix(d, "first\ny\n") || r.ps[0].Get("Version") != "1" {
			t.Errorf("Description has %d lines, Version %q", strings.Count(d, "\n")+1, r.ps[0].Get("Version"))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ParseControl of a 1 MiB field still running after 10s")
	}
}
