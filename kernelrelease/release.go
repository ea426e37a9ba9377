package kernelrelease

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid is returned for a kernel release that does not start with a
// version number, such as an empty string.
var ErrInvalid = errors.New("invalid kernel release")

// Release is a parsed kernel release as uname -r prints it, for example
// "6.1.0-13-amd64". Parsing is lossless: String returns the input.
//
// The parts follow the kernel's Makefile names. Fullversion is the numeric
// head as written ("6.1.0", "4.19+105", "6.4", "7"); FullExtraversion is
// everything after it ("-13-amd64", "+", "~rc1"); Extraversion is the first
// component of FullExtraversion without its separator ("13-amd64" for
// "-13-amd64", "957" for "-957.12.2.el7.aarch64"), as Falco's tools split it.
type Release struct {
	Raw              string `json:"raw"`
	Version          int    `json:"version"`
	PatchLevel       int    `json:"patchlevel"`
	SubLevel         int    `json:"sublevel"`
	Fullversion      string `json:"fullversion"`
	Extraversion     string `json:"extraversion"`
	FullExtraversion string `json:"full_extraversion"`
}

// Parse parses a kernel release. It accepts every string that starts with
// a decimal version ("7", "6.4-rc1", "5.15.146+"); a missing patch or sub
// level counts as 0. Anything else is an ErrInvalid that says what was seen.
func Parse(s string) (Release, error) {
	r := Release{Raw: s}
	if s == "" {
		return r, fmt.Errorf("kernel release is empty: %w (want the output of uname -r, e.g. 6.1.0-13-amd64)", ErrInvalid)
	}
	var nums [3]int
	pos, n := 0, 0
	for n < 3 {
		if n > 0 {
			// The sub level may follow a '+' (Debian's "4.19+105"); the
			// patch level only follows a '.'.
			if pos >= len(s) || !(s[pos] == '.' || (n == 2 && s[pos] == '+')) {
				break
			}
			if pos+1 >= len(s) || !isDigit(s[pos+1]) {
				break
			}
			pos++
		}
		end := pos
		for end < len(s) && isDigit(s[end]) {
			end++
		}
		if end == pos {
			return r, fmt.Errorf("kernel release %q: %w: it must start with a version number (uname -r prints e.g. 6.1.0-13-amd64)", s, ErrInvalid)
		}
		v, err := strconv.Atoi(s[pos:end])
		if err != nil || end-pos > 9 {
			return r, fmt.Errorf("kernel release %q: %w: version number %q out of range (uname -r prints e.g. 6.1.0-13-amd64)", s, ErrInvalid, s[pos:end])
		}
		nums[n] = v
		n++
		pos = end
	}
	r.Version, r.PatchLevel, r.SubLevel = nums[0], nums[1], nums[2]
	r.Fullversion = s[:pos]
	r.FullExtraversion = s[pos:]
	r.Extraversion = firstExtra(r.FullExtraversion)
	return r, nil
}

// firstExtra is the first component of a full extraversion: after its
// leading separator ('-', '.', '+' or '~'), up to the next '.', '+' or '~'
// ("-13-amd64" gives "13-amd64", "-957.12.2.el7" gives "957").
func firstExtra(full string) string {
	if full == "" || !strings.ContainsRune("-.+~", rune(full[0])) {
		return ""
	}
	rest := full[1:]
	end := strings.IndexAny(rest, ".+~")
	if end < 0 {
		end = len(rest)
	}
	return rest[:end]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// MustParse is Parse for constants in tests and tables; it panics on error.
func MustParse(s string) Release {
	r, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return r
}

// String returns the release exactly as it was parsed.
func (r Release) String() string { return r.Raw }

// Numeric is the "version.patchlevel.sublevel" triple, e.g. "6.4.0" for
// "6.4-rc1", as Falco prints it in its minimum-version messages.
func (r Release) Numeric() string {
	return fmt.Sprintf("%d.%d.%d", r.Version, r.PatchLevel, r.SubLevel)
}

// Compare orders releases by version, patch level and sub level only:
// -1 if r < o, 0 if equal, +1 if r > o. Extraversions are not ordered,
// since distros give them no common meaning.
func (r Release) Compare(o Release) int {
	a := [3]int{r.Version, r.PatchLevel, r.SubLevel}
	b := [3]int{o.Version, o.PatchLevel, o.SubLevel}
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}

// AtLeast reports whether r is version.patchlevel.sublevel or newer.
func (r Release) AtLeast(version, patchlevel, sublevel int) bool {
	return r.Compare(Release{Version: version, PatchLevel: patchlevel, SubLevel: sublevel}) >= 0
}
