package testenv

import (
	"os"
	"strconv"
	"strings"
)

// ProcState is the state letter of /proc/PID/stat (R, S, T, t, Z …), or ""
// when the process is gone.
func ProcState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2 : i+3]
	}
	return ""
}
