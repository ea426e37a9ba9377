package modern

import (
	"slices"
	"testing"
)

// A container given the host's tracefs at another path (a space in it,
// escaped as mountinfo escapes it) finds it there; bind mounts of a
// subdirectory and other file systems are not taken for it.
func TestTracefsIn(t *testing.T) {
	mi := `22 1 0:21 / /sys rw,nosuid shared:7 - sysfs sysfs rw
35 22 0:12 / /sys/kernel/debug rw - debugfs debugfs rw
90 1 0:13 / /host/sys/kernel/tracing rw,nosuid - tracefs tracefs rw
91 1 0:13 /events /srv/events rw - tracefs tracefs rw
92 1 0:13 / /mnt/my\040trace rw shared:9 master:3 - tracefs nodev rw
93 1 0:40 / /mnt/tracefs rw - tmpfs tracefs rw
`
	got := tracefsIn(mi)
	want := []string{"/host/sys/kernel/tracing", "/mnt/my trace"}
	if !slices.Equal(got, want) {
		t.Fatalf("tracefs mounts %q, want %q", got, want)
	}
}
