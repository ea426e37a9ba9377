//go:build linux

package host

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// SystemUname asks the running kernel (uname(2)). Pass it as
// Options.Uname only when the host root is "/".
func SystemUname() (Uname, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return Uname{}, err
	}
	s := func(b []byte) string { return string(bytes.TrimRight(b, "\x00")) }
	return Uname{Release: s(u.Release[:]), Version: s(u.Version[:]), Machine: s(u.Machine[:])}, nil
}
