package builder

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// ErrNoClang is returned when no clang with its llc is on PATH: the legacy
// eBPF probe cannot be built here.
var ErrNoClang = errors.New("no clang and llc for the eBPF probe")

// Clang is the clang and llc pair that builds the legacy eBPF probe. Any
// recent clang does: the probe's object does not depend on the kernel's own
// compiler (kbuild still runs the headers' gcc for its checks).
type Clang struct {
	Clang   string `json:"clang"`   // path
	LLC     string `json:"llc"`     // path
	Version string `json:"version"` // "16.0.6", from clang --version
}

// String is what build reports and cache keys name: "clang 16.0.6".
func (c Clang) String() string { return "clang " + c.Version }

// clangVersionRE reads "Debian clang version 16.0.6 (15~deb12u1)".
var clangVersionRE = regexp.MustCompile(`clang version (\d+\.\d+\.\d+)`)

// HostClang finds the newest clang-N with its llc-N on PATH (N from 21 down
// to 11), else plain clang and llc.
func HostClang(ctx context.Context) (Clang, error) {
	var tried []string
	cands := make([][2]string, 0, 12)
	for n := 21; n >= 11; n-- {
		s := strconv.Itoa(n)
		cands = append(cands, [2]string{"clang-" + s, "llc-" + s})
	}
	cands = append(cands, [2]string{"clang", "llc"})
	for _, c := range cands {
		cl, err := exec.LookPath(c[0])
		if err != nil {
			continue
		}
		llc, err := exec.LookPath(c[1])
		if err != nil {
			tried = append(tried, c[0]+" without "+c[1])
			continue
		}
		out, err := exec.CommandContext(ctx, cl, "--version").Output()
		if err != nil {
			tried = append(tried, c[0]+": "+err.Error())
			continue
		}
		m := clangVersionRE.FindSubmatch(out)
		if m == nil {
			tried = append(tried, c[0]+": no version in "+strings.SplitN(string(out), "\n", 2)[0])
			continue
		}
		return Clang{Clang: cl, LLC: llc, Version: string(m[1])}, nil
	}
	if len(tried) == 0 {
		tried = append(tried, "none of clang-21 … clang-11, clang on PATH")
	}
	return Clang{}, fmt.Errorf("%s (install clang and llvm): %w", strings.Join(tried, ", "), ErrNoClang)
}

// clangVersionIn is the clang version a build log printed ("Debian clang
// version 19.1.7 (3+b1)"), or "".
func clangVersionIn(log []byte) string {
	if m := clangVersionRE.FindSubmatch(log); m != nil {
		return string(m[1])
	}
	return ""
}
