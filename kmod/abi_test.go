package kmod

import (
	"os"
	"regexp"
	"testing"
	"unsafe"
)

// TestABI checks the Go mirror of kd_ioctl.h: struct sizes, the ioctl
// numbers as _IOR/_IOW compute them, and the constants in the header text.
func TestABI(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof kd_version", unsafe.Sizeof(kdVersion{}), 8},
		{"sizeof kd_geometry", unsafe.Sizeof(kdGeometry{}), 152},
		{"sizeof kd_mask", unsafe.Sizeof(kdMask{}), 128},
		{"KD_IOC_API_VERSION", iocAPIVersion, 0x8008d701},
		{"KD_IOC_SCHEMA_VERSION", iocSchemaVersion, 0x8004d702},
		{"KD_IOC_GEOMETRY", iocGeometry, 0x8098d703},
		{"KD_IOC_START", iocStart, 0xd704},
		{"KD_IOC_STOP", iocStop, 0xd705},
		{"KD_IOC_SET_MASK", iocSetMask, 0x4080d706},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %#x, want %#x", tc.name, tc.got, tc.want)
		}
	}
	h, err := os.ReadFile("src/kd_ioctl.h")
	if err != nil {
		t.Fatal(err)
	}
	for re, want := range map[string]string{
		`#define KD_IOC_MAGIC\s+(\S+)`:         "0xd7",
		`#define KD_DEVICE_NAME\s+"(\S+)"`:     DeviceName,
		`#define KD_RECORD_ALIGN\s+(\S+)`:      "8",
		`#define KD_SYSCALL_MASK_BITS\s+(\S+)`: "1024",
	} {
		m := regexp.MustCompile(re).FindSubmatch(h)
		if m == nil || string(m[1]) != want {
			t.Errorf("kd_ioctl.h %s: got %q, want %q", re, m, want)
		}
	}
}
