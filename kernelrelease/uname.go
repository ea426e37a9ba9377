package kernelrelease

import (
	"strconv"
	"strings"
)

// KernelVersion is a parsed uname -v string, for example
// "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)" or
// "#26~22.04.1-Ubuntu SMP Mon Apr 24 01:58:15 UTC 2023".
type KernelVersion struct {
	// Raw is the input, unchanged.
	Raw string `json:"raw"`
	// Token is what Falco calls the kernel version: the first word with
	// its '#' removed ("1", "26~22.04.1-Ubuntu"). It goes into file names
	// after the distro's fixups.
	Token string `json:"token"`
	// Build is the leading build number of Token (1, 26), or -1 if Token
	// does not start with digits.
	Build int `json:"build"`
	// Distro and Package name the distro's kernel package when uname -v
	// carries it: "Debian" and "6.1.55-1", or "Ubuntu" and "22.04.1"
	// (the part of Token between '~' and "-Ubuntu").
	Distro  string `json:"distro,omitempty"`
	Package string `json:"package,omitempty"`
}

// ParseVersion parses uname -v. It never fails: an empty or unusual string
// gives an empty Token and Build -1, and callers decide what that means.
func ParseVersion(s string) KernelVersion {
	v := KernelVersion{Raw: s, Build: -1}
	// Falco trims '#' from both ends and takes the first space-separated
	// word; an override such as "1" or "5.10.178-3" is its own token.
	t := strings.Trim(s, "#")
	if i := strings.IndexByte(t, ' '); i >= 0 {
		t = t[:i]
	}
	v.Token = t
	end := 0
	for end < len(t) && end < 9 && isDigit(t[end]) {
		end++
	}
	if end > 0 {
		v.Build, _ = strconv.Atoi(t[:end])
	}
	if rest, ok := strings.CutSuffix(t, "-Ubuntu"); ok {
		v.Distro = "Ubuntu"
		if _, pkg, ok := strings.Cut(rest, "~"); ok {
			v.Package = pkg
		}
		return v
	}
	fields := strings.Fields(s)
	for i, f := range fields {
		if f == "Debian" && i+1 < len(fields) {
			v.Distro, v.Package = "Debian", fields[i+1]
			break
		}
	}
	return v
}
