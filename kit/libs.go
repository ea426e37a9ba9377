package kit

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing/fstest"

	"github.com/kdriver/kdriver/artifacts"
)

// IsLibsDriver reports whether src is a falcosecurity/libs driver/ tree
// before its configure step.
func IsLibsDriver(src fs.FS) bool {
	for _, f := range []string{"driver_config.h.in", "Makefile.in", "ppm_events_public.h"} {
		if _, err := fs.Stat(src, f); err != nil {
			return false
		}
	}
	return true
}

// ConfigureLibs does, without cmake, what the libs driver's CMakeLists does
// to make the tree DKMS installs: Makefile, driver_config.h and dkms.conf
// from their .in files, each configure/<CHECK>/ given the shared Makefile,
// build.sh and Makefile.inc, the C sources copied. o.Version is required;
// the name defaults to scap, the device name to the name.
func ConfigureLibs(src fs.FS, origin string, o Options) (*Kit, error) {
	if o.Version == "" {
		return nil, fmt.Errorf("kit %s: a libs driver/ tree needs its driver version (--driver-version): %w", origin, ErrBadKit)
	}
	if o.Name == "" {
		o.Name = "scap"
	}
	if o.Device == "" {
		o.Device = o.Name
	}
	k := &Kit{Name: o.Name, Module: o.Name, Device: o.Device, Version: o.Version}
	if err := k.validate(); err != nil {
		return nil, fmt.Errorf("kit %s: %w", origin, err)
	}
	vars := map[string]string{
		"DRIVER_NAME": o.Name, "DRIVER_PACKAGE_NAME": o.Name, "DRIVER_DEVICE_NAME": o.Device,
		"DRIVER_VERSION": o.Version, "PROBE_VERSION": o.Version, "KBUILD_FLAGS": "", "GIT_COMMIT": "",
		"DRIVER_COMMIT": "",
	}
	for _, f := range []struct{ file, prefix string }{{"API_VERSION", "PPM_API_CURRENT_VERSION"}, {"SCHEMA_VERSION", "PPM_SCHEMA_CURRENT_VERSION"}} {
		b, err := fs.ReadFile(src, f.file)
		if err != nil {
			continue // older trees keep the numbers in the header itself
		}
		parts := strings.Split(strings.TrimSpace(string(b)), ".")
		if len(parts) != 3 {
			return nil, fmt.Errorf("kit %s: %s %q: want MAJOR.MINOR.PATCH: %w", origin, f.file, b, ErrBadKit)
		}
		for i, n := range []string{"MAJOR", "MINOR", "PATCH"} {
			vars[f.prefix+"_"+n] = parts[i]
		}
	}
	out := fstest.MapFS{}
	top, err := fs.ReadDir(src, ".")
	if err != nil {
		return nil, fmt.Errorf("kit %s: %w", origin, err)
	}
	for _, e := range top {
		n := e.Name()
		if !e.Type().IsRegular() || !(strings.HasSuffix(n, ".c") || strings.HasSuffix(n, ".h")) {
			continue
		}
		if err := copyFile(out, src, n, n); err != nil {
			return nil, fmt.Errorf("kit %s: %w", origin, err)
		}
	}
	for in, outName := range map[string]string{"Makefile.in": "Makefile", "driver_config.h.in": "driver_config.h", "dkms.conf.in": "dkms.conf"} {
		b, err := fs.ReadFile(src, in)
		if err != nil {
			if in == "dkms.conf.in" {
				continue
			}
			return nil, fmt.Errorf("kit %s: %w", origin, err)
		}
		out[outName] = &fstest.MapFile{Data: configureFile(b, vars), Mode: 0o644}
	}
	if _, ok := out["dkms.conf"]; !ok {
		out["dkms.conf"] = &fstest.MapFile{Data: fmt.Appendf(nil, "PACKAGE_NAME=%q\nPACKAGE_VERSION=%q\nBUILT_MODULE_NAME[0]=%q\n", o.Name, o.Version, o.Name), Mode: 0o644}
	}
	// configure/<CHECK>/: a feature probe each, run by the Makefile.
	checks, _ := fs.ReadDir(src, "configure")
	for _, c := range checks {
		if !c.IsDir() {
			continue
		}
		dir := path.Join("configure", c.Name())
		for _, f := range [][2]string{{path.Join(dir, "test.c"), "test.c"}, {"configure/Makefile", "Makefile"}, {"configure/build.sh", "build.sh"}} {
			if err := copyFile(out, src, f[0], path.Join(dir, f[1])); err != nil {
				return nil, fmt.Errorf("kit %s: %w", origin, err)
			}
		}
		inc, err := fs.ReadFile(src, "configure/Makefile.inc.in")
		if err != nil {
			return nil, fmt.Errorf("kit %s: %w", origin, err)
		}
		vars["CONFIGURE_MODULE"] = c.Name()
		out[path.Join(dir, "Makefile.inc")] = &fstest.MapFile{Data: configureFile(inc, vars), Mode: 0o644}
	}
	k2, err := FromDKMS(out, origin+" (configured)")
	if err != nil {
		return nil, err
	}
	k2.Device = o.Device
	k2.Format = FormatScap
	k2.Kinds = []artifacts.Kind{artifacts.KindKmod}
	return k2, nil
}

func copyFile(out fstest.MapFS, src fs.FS, from, to string) error {
	b, err := fs.ReadFile(src, from)
	if err != nil {
		return err
	}
	out[to] = &fstest.MapFile{Data: b, Mode: 0o644}
	return nil
}

var cmakeVarRE = regexp.MustCompile(`@([A-Za-z_][A-Za-z0-9_]*)@|\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// configureFile is cmake's configure_file: @VAR@ and ${VAR} replaced, an
// unknown variable by nothing (as cmake does).
func configureFile(b []byte, vars map[string]string) []byte {
	return cmakeVarRE.ReplaceAllFunc(b, func(ref []byte) []byte {
		m := cmakeVarRE.FindSubmatch(ref)
		name := string(m[1]) + string(m[2])
		return []byte(vars[name])
	})
}
