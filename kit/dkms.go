package kit

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/kdriver/kdriver/artifacts"
)

// DKMSConf is what kdriver reads from a dkms.conf. The file is a shell
// fragment DKMS sources; kdriver never runs it: it reads the simple
// assignments (NAME=value, NAME[0]=value, quoted or not, with $NAME and
// ${NAME} of earlier assignments expanded) and ignores everything else.
type DKMSConf struct {
	PackageName    string
	PackageVersion string
	// Modules are BUILT_MODULE_NAME[i], in index order.
	Modules []string
	// Locations are BUILT_MODULE_LOCATION[i] (where make leaves the .ko).
	Locations []string
	Exclusive Exclusive
}

// maxDKMSConf bounds the file: real ones are a few hundred bytes.
const maxDKMSConf = 64 << 10

var assignRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)(?:\[([0-9]{1,2})\])?=(.*)$`)

// ParseDKMSConf reads a dkms.conf.
func ParseDKMSConf(b []byte) (*DKMSConf, error) {
	if len(b) > maxDKMSConf {
		return nil, fmt.Errorf("dkms.conf: %d bytes: %w", len(b), ErrBadKit)
	}
	vars := map[string]string{}
	indexed := map[string]map[int]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxDKMSConf)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		m := assignRE.FindStringSubmatch(line)
		if m == nil {
			continue // shell kdriver does not run (if, functions, …)
		}
		val, ok := shellWord(m[3], vars)
		if !ok {
			continue
		}
		if m[2] == "" {
			vars[m[1]] = val
			continue
		}
		var i int
		fmt.Sscanf(m[2], "%d", &i)
		if indexed[m[1]] == nil {
			indexed[m[1]] = map[int]string{}
		}
		indexed[m[1]][i] = val
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dkms.conf: %w", err)
	}
	c := &DKMSConf{
		PackageName: vars["PACKAGE_NAME"], PackageVersion: vars["PACKAGE_VERSION"],
		Exclusive: Exclusive{
			KernelMin: vars["BUILD_EXCLUSIVE_KERNEL_MIN"], KernelMax: vars["BUILD_EXCLUSIVE_KERNEL_MAX"],
			Kernel: vars["BUILD_EXCLUSIVE_KERNEL"], Arch: vars["BUILD_EXCLUSIVE_ARCH"],
		},
	}
	c.Modules = ordered(indexed["BUILT_MODULE_NAME"])
	c.Locations = ordered(indexed["BUILT_MODULE_LOCATION"])
	// An unindexed BUILT_MODULE_NAME is the first module, as DKMS reads it.
	if v, ok := vars["BUILT_MODULE_NAME"]; ok && len(c.Modules) == 0 {
		c.Modules = []string{v}
	}
	if c.PackageName == "" || c.PackageVersion == "" {
		return nil, fmt.Errorf("dkms.conf: no PACKAGE_NAME or PACKAGE_VERSION: %w", ErrBadKit)
	}
	for _, re := range []string{c.Exclusive.Kernel, c.Exclusive.Arch} {
		if _, err := regexp.Compile(re); err != nil {
			return nil, fmt.Errorf("dkms.conf: BUILD_EXCLUSIVE pattern %q: %w", re, ErrBadKit)
		}
	}
	return c, nil
}

// ordered lists an indexed assignment by index; gaps end the list, as a
// DKMS array with a hole is not something kdriver can build.
func ordered(m map[int]string) []string {
	var out []string
	for i := 0; ; i++ {
		v, ok := m[i]
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

// shellWord reads one shell word: "double quoted" (with $NAME expanded),
// 'single quoted', or bare up to a comment. Anything else (command
// substitution, several words) is not a value kdriver can know: !ok.
func shellWord(s string, vars map[string]string) (string, bool) {
	s = strings.TrimSpace(s)
	if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
		return "", false // control characters are no name DKMS could use
	}
	var raw string
	switch {
	case strings.HasPrefix(s, `'`):
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 || !restIsComment(s[end+2:]) {
			return "", false
		}
		return s[1 : end+1], true
	case strings.HasPrefix(s, `"`):
		end := strings.IndexByte(s[1:], '"')
		if end < 0 || !restIsComment(s[end+2:]) {
			return "", false
		}
		raw = s[1 : end+1]
		if strings.ContainsAny(raw, "`\\") {
			return "", false
		}
	default:
		if i := strings.Index(s, " #"); i >= 0 {
			s = s[:i]
		}
		raw = strings.TrimSpace(s)
		if strings.ContainsAny(raw, " \t\"'`\\;&|<>()") {
			return "", false
		}
	}
	return expand(raw, vars)
}

func restIsComment(s string) bool {
	s = strings.TrimSpace(s)
	return s == "" || s[0] == '#'
}

var varRE = regexp.MustCompile(`\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))`)

// expand replaces $NAME and ${NAME} of earlier assignments; a reference to
// anything else (DKMS's run-time $kernelver, $(…)) makes the value unknown.
func expand(s string, vars map[string]string) (string, bool) {
	ok := true
	out := varRE.ReplaceAllStringFunc(s, func(ref string) string {
		m := varRE.FindStringSubmatch(ref)
		name := m[1] + m[2]
		v, found := vars[name]
		if !found {
			ok = false
		}
		return v
	})
	if strings.Contains(out, "$(") {
		return "", false
	}
	return out, ok
}

// FromDKMS makes a kit of a DKMS source tree (dkms.conf and a kbuild
// Makefile at the root of src). The device name is the libs driver's
// DRIVER_DEVICE_NAME from driver_config.h when there is one, else the
// module's name; such a tree writes the scap format when it has
// ppm_events_public.h, else format must be given by the caller.
func FromDKMS(src fs.FS, origin string) (*Kit, error) {
	b, err := fs.ReadFile(src, "dkms.conf")
	if err != nil {
		return nil, fmt.Errorf("kit %s: %w: %w", origin, ErrNotKit, err)
	}
	c, err := ParseDKMSConf(b)
	if err != nil {
		return nil, fmt.Errorf("kit %s: %w", origin, err)
	}
	if _, err := fs.Stat(src, "Makefile"); err != nil {
		return nil, fmt.Errorf("kit %s: no kbuild Makefile beside dkms.conf: %w", origin, ErrBadKit)
	}
	switch {
	case len(c.Modules) == 0:
		return nil, fmt.Errorf("kit %s: dkms.conf names no BUILT_MODULE_NAME: %w", origin, ErrBadKit)
	case len(c.Modules) > 1:
		return nil, fmt.Errorf("kit %s: dkms.conf builds %d modules (%s); kdriver builds kits of one: %w",
			origin, len(c.Modules), strings.Join(c.Modules, ", "), ErrBadKit)
	}
	if len(c.Locations) > 0 && strings.Trim(c.Locations[0], "./") != "" {
		return nil, fmt.Errorf("kit %s: BUILT_MODULE_LOCATION %q: only modules built at the top of the tree are supported: %w",
			origin, c.Locations[0], ErrBadKit)
	}
	k := &Kit{
		Name: c.PackageName, Module: c.Modules[0], Device: c.Modules[0], Version: c.PackageVersion,
		Kinds: []artifacts.Kind{artifacts.KindKmod}, Method: MethodKbuild, Source: src, Origin: origin,
		Exclusive: c.Exclusive,
	}
	if h, err := fs.ReadFile(src, "driver_config.h"); err == nil {
		if d := cDefine(h, "DRIVER_DEVICE_NAME"); d != "" {
			k.Device = d
		}
	}
	if _, err := fs.Stat(src, "ppm_events_public.h"); err == nil {
		k.Format = FormatScap
	}
	if _, err := fs.Stat(src, "kd_event.h"); err == nil {
		k.Format = FormatKD
	}
	// The libs source carries its legacy eBPF probe in bpf/; kdriver builds
	// only the module of a kit today, so the probe is not offered.
	if err := k.validate(); err != nil {
		return nil, fmt.Errorf("kit %s: %w", origin, err)
	}
	return k, nil
}

// cDefine is the string value of `#define NAME "value"` in a C header.
func cDefine(h []byte, name string) string {
	re := regexp.MustCompile(`(?m)^\s*#\s*define\s+` + regexp.QuoteMeta(name) + `\s+"([^"\n]*)"`)
	if m := re.FindSubmatch(h); m != nil {
		return string(m[1])
	}
	return ""
}
