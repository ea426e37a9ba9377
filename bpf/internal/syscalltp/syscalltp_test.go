package syscalltp

import (
	"slices"
	"strings"
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

// The layouts the programs read, as 6.18 prints them (read from this
// host's tracefs, 2026-12-03), pass; a record whose arguments moved is
// refused, so the probe falls back to its sys_enter program instead of
// reading the wrong words.
func TestCheckFormat(t *testing.T) {
	execveat := `name: sys_enter_execveat
ID: 860
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:int fd;	offset:16;	size:8;	signed:0;
	field:const char * filename;	offset:24;	size:8;	signed:0;
	field:const char *const * argv;	offset:32;	size:8;	signed:0;
	field:const char *const * envp;	offset:40;	size:8;	signed:0;
	field:int flags;	offset:48;	size:8;	signed:0;

print fmt: "fd: 0x%08lx, filename: 0x%08lx"
`
	execve := `name: sys_enter_execve
ID: 862
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:const char * filename;	offset:16;	size:8;	signed:0;
	field:const char *const * argv;	offset:24;	size:8;	signed:0;
	field:const char *const * envp;	offset:32;	size:8;	signed:0;
`
	if err := checkFormat("sys_enter_execveat", execveat); err != nil {
		t.Errorf("execveat: %v", err)
	}
	if err := checkFormat("sys_enter_execve", execve); err != nil {
		t.Errorf("execve: %v", err)
	}
	moved := strings.ReplaceAll(execve, "offset:16;", "offset:24;")
	if err := checkFormat("sys_enter_execve", moved); err == nil || !strings.Contains(err.Error(), "filename at offset 24") {
		t.Errorf("moved filename: %v", err)
	}
}
