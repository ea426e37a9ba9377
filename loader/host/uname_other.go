//go:build !linux

package host

import "errors"

// SystemUname is only available on Linux.
func SystemUname() (Uname, error) {
	return Uname{}, errors.New("uname: not a Linux host")
}
