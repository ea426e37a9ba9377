package builder

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// ErrNoCompiler is returned when no usable compiler matches the headers.
var ErrNoCompiler = errors.New("no matching compiler")

// Compiler is the compiler a kernel was built with, as its headers say.
type Compiler struct {
	Text    string `json:"text"`    // CONFIG_CC_VERSION_TEXT
	Family  string `json:"family"`  // gcc or clang
	Version string `json:"version"` // 12.2.0
	Major   int    `json:"major"`
	Command string `json:"command"` // without cross prefix: gcc-12
	Source  string `json:"source"`  // the file that said so
}

func (c Compiler) String() string { return fmt.Sprintf("%s %s (%s)", c.Family, c.Version, c.Command) }

var versionRe = regexp.MustCompile(`(\d+)\.(\d+)(?:\.(\d+))?`)

// ReadCompiler reads CONFIG_CC_VERSION_TEXT from include/config/auto.conf
// (or .config) of kdir, and Debian's .kernelvariables for the command name.
// The kernel version is never used to guess it.
func ReadCompiler(kdir string) (Compiler, error) {
	var c Compiler
	for _, f := range []string{"include/config/auto.conf", ".config"} {
		v, err := configValue(filepath.Join(kdir, f), "CONFIG_CC_VERSION_TEXT")
		if err == nil && v != "" {
			c.Text, c.Source = v, f
			break
		}
	}
	if c.Text == "" {
		return c, fmt.Errorf("%s: no CONFIG_CC_VERSION_TEXT in include/config/auto.conf or .config: %w", kdir, ErrNoCompiler)
	}
	if err := c.parseText(); err != nil {
		return c, fmt.Errorf("%s: %w", kdir, err)
	}
	c.Command = kernelVariablesCC(filepath.Join(kdir, ".kernelvariables"))
	if c.Command == "" {
		c.Command = c.Family
		for _, f := range strings.Fields(c.Text) {
			if strings.Contains(f, c.Family) {
				c.Command = stripTriplet(f)
				break
			}
		}
	}
	// The name comes from the packages and is looked up on the host's PATH
	// (and run with -dumpversion, also when auto then picks a container):
	// a path ("/tmp/x", "gcc/../../x") would run whatever it names.
	if !commandName.MatchString(c.Command) {
		return c, fmt.Errorf("%s: compiler command %q is not a plain command name: %w", kdir, c.Command, ErrNoCompiler)
	}
	return c, nil
}

var commandName = regexp.MustCompile(`^[A-Za-z0-9_+][A-Za-z0-9._+-]*$`)

// parseText fills family and version from CONFIG_CC_VERSION_TEXT:
// "gcc-12 (Debian 12.2.0-14) 12.2.0", "gcc (GCC) 11.4.1 20231218 (Red Hat
// 11.4.1-3)", "Debian clang version 16.0.6 (15)".
func (c *Compiler) parseText() error {
	c.Family = "gcc"
	if strings.Contains(c.Text, "clang") {
		c.Family = "clang"
	}
	m := versionRe.FindStringSubmatch(c.Text)
	if m == nil {
		return fmt.Errorf("compiler %q: no version: %w", c.Text, ErrNoCompiler)
	}
	c.Version = m[0]
	var err error
	if c.Major, err = strconv.Atoi(m[1]); err != nil || c.Major == 0 {
		return fmt.Errorf("compiler %q: bad version: %w", c.Text, ErrNoCompiler)
	}
	return nil
}

// configValue returns KEY's value in a kconfig file, unquoted.
func configValue(file, key string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+"="); ok {
			if u, err := strconv.Unquote(v); err == nil {
				return u, nil
			}
			return v, nil
		}
	}
	return "", sc.Err()
}

// kernelVariablesCC reads "CC = … $(CROSS_COMPILE)gcc-12" from Debian's
// .kernelvariables: the last word, prefix variables removed.
func kernelVariablesCC(file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) != "CC" {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			return ""
		}
		cmd := f[len(f)-1]
		cmd = strings.ReplaceAll(cmd, "$(CROSS_COMPILE)", "")
		if strings.ContainsAny(cmd, "$()") {
			return ""
		}
		return cmd
	}
	return ""
}

// stripTriplet turns "x86_64-linux-gnu-gcc-12" into "gcc-12".
func stripTriplet(s string) string {
	for _, fam := range []string{"gcc", "clang"} {
		if i := strings.LastIndex(s, fam); i >= 0 {
			return s[i:]
		}
	}
	return s
}

// CrossPrefix is the binutils/gcc prefix to build for arch on hostArch
// ("" when they are the same).
func CrossPrefix(arch, hostArch string) string {
	if arch == hostArch {
		return ""
	}
	switch arch {
	case "aarch64":
		return "aarch64-linux-gnu-"
	case "x86_64":
		return "x86_64-linux-gnu-"
	}
	return arch + "-linux-gnu-"
}

// HostCompiler finds, on PATH, a compiler of the same family and major
// version as c, for cross prefix prefix. It runs each candidate with
// -dumpversion; a different major is never accepted, because a module built
// with another compiler than its kernel's may not load or may misbehave.
func HostCompiler(ctx context.Context, c Compiler, prefix string) (string, error) {
	cands := []string{prefix + c.Command, fmt.Sprintf("%s%s-%d", prefix, c.Family, c.Major), prefix + c.Family}
	var tried []string
	seen := map[string]bool{}
	for _, name := range cands {
		if seen[name] {
			continue
		}
		seen[name] = true
		p, err := exec.LookPath(name)
		if err != nil {
			tried = append(tried, name+": not found")
			continue
		}
		out, err := exec.CommandContext(ctx, p, "-dumpversion").Output()
		if err != nil {
			tried = append(tried, name+": "+err.Error())
			continue
		}
		v := strings.TrimSpace(string(out))
		if maj, _, _ := strings.Cut(v, "."); maj == strconv.Itoa(c.Major) {
			return p, nil
		}
		tried = append(tried, name+": version "+v)
	}
	return "", fmt.Errorf("headers want %s %d (%q); on this host %s: use --backend docker, or install it: %w",
		c.Family, c.Major, c.Text, strings.Join(tried, ", "), ErrNoCompiler)
}
