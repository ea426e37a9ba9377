package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// falcoEnv maps Falco's environment names to our flags: existing manifests
// and Docker invocations keep working.
var falcoEnv = map[string][]string{
	"host-root":      {"HOST_ROOT", "FALCOCTL_DRIVER_HOSTROOT"},
	"repo":           {"DRIVERS_REPO", "FALCOCTL_DRIVER_REPOS"},
	"http-header":    {"FALCOCTL_DRIVER_HTTP_HEADERS"},
	"driver-name":    {"DRIVER_NAME", "FALCOCTL_DRIVER_NAME"},
	"driver-version": {"DRIVER_VERSION", "FALCOCTL_DRIVER_VERSION"},
	"kernel-release": {"DRIVER_KERNEL_RELEASE"},
	"kernel-version": {"DRIVER_KERNEL_VERSION"},
	"type":           {"FALCOCTL_DRIVER_TYPE"},
}

// envAnnotation on a flag replaces the environment names applyEnv reads
// for it. A command whose flag shares a name with another command's but
// means something else (events' and trace's --type are event types, not
// driver types) must not read the other meaning's variables: a DaemonSet's
// FALCOCTL_DRIVER_TYPE=kmod would make `kdriver events` look for an event
// type "kmod".
const envAnnotation = "kdriver-env"

// configAnnotation likewise replaces the config-file keys of a flag.
const configAnnotation = "kdriver-config"

// setEnvNames makes applyEnv read flag's value from these variables only,
// and applyConfig from these config keys only.
func setEnvNames(fs *pflag.FlagSet, flag string, env []string, keys ...string) {
	for a, v := range map[string][]string{envAnnotation: env, configAnnotation: keys} {
		if err := fs.SetAnnotation(flag, a, v); err != nil {
			panic(err) // a programming error: the flag is defined beside the call
		}
	}
}

// configFlag is the flag a config key sets: the one that claims the key
// (configAnnotation), else the flag of that name unless it claims others.
func configFlag(fs *pflag.FlagSet, key string) *pflag.Flag {
	var claimed, named *pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) {
		keys, ok := f.Annotations[configAnnotation]
		switch {
		case ok && slices.Contains(keys, key):
			claimed = f
		case !ok && f.Name == key:
			named = f
		}
	})
	if claimed != nil {
		return claimed
	}
	return named
}

// envName is the KDRIVER_ variable of a flag: --host-root → KDRIVER_HOST_ROOT.
func envName(flag string) string {
	return "KDRIVER_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv sets every flag the user did not give from KDRIVER_<FLAG>, or
// else from its Falco alias. Repeatable flags take comma-separated lists.
func applyEnv(fs *pflag.FlagSet, lookup func(string) (string, bool)) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		names := append([]string{envName(f.Name)}, falcoEnv[f.Name]...)
		if own, ok := f.Annotations[envAnnotation]; ok {
			names = own
		}
		for _, n := range names {
			v, ok := lookup(n)
			if !ok || v == "" {
				continue
			}
			if e := setFlag(fs, f, v); e != nil {
				err = usageError{fmt.Sprintf("environment %s=%q: %v", n, v, e)}
			}
			return
		}
	})
	return err
}

func setFlag(fs *pflag.FlagSet, f *pflag.Flag, v string) error {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		// Lists are comma-separated. Repositories may also be separated by
		// spaces, as Falco's DRIVERS_REPO is (IFS=", "), and by ';', as
		// falcoctl's FALCOCTL_DRIVER_REPOS and _TYPE are; other values, such
		// as HTTP headers, keep their spaces.
		sep := func(r rune) bool { return r == ',' }
		switch f.Name {
		case "repo":
			sep = func(r rune) bool { return r == ',' || r == ' ' || r == ';' }
		case "type", "driver":
			sep = func(r rune) bool { return r == ',' || r == ';' }
		}
		var items []string
		for _, s := range strings.FieldsFunc(v, sep) {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		if err := sv.Replace(items); err != nil {
			return err
		}
		f.Changed = true
		return nil
	}
	return fs.Set(f.Name, v)
}

// falcoctlDriverKeys are the keys of falcoctl.yaml's driver: section and
// the flags they set.
var falcoctlDriverKeys = map[string]string{
	"type":     "type",
	"name":     "driver-name",
	"version":  "driver-version",
	"repos":    "repo",
	"hostroot": "host-root",
}

// falcoctlSections are falcoctl.yaml's other sections: they configure
// falcoctl's artifact commands, which kdriver does not have.
var falcoctlSections = map[string]bool{"artifact": true, "indexes": true, "registry": true}

// applyConfig reads a YAML file whose keys are flag names (host-root or
// host_root) and sets the flags that neither the command line nor the
// environment set. A falcoctl.yaml works too: its driver: section sets
// the driver flags, its other sections are ignored.
func applyConfig(fs *pflag.FlagSet, path string) error {
	data, err := readInputFile("--config", path, maxConfigSize)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return usageError{fmt.Sprintf("--config %s: %v", path, err)}
	}
	if drv, ok := m["driver"].(map[string]any); ok {
		delete(m, "driver")
		for k, v := range drv {
			name, ok := falcoctlDriverKeys[k]
			if !ok {
				return usageError{fmt.Sprintf("--config %s: unknown key driver.%s (want %s)", path, k, "type, name, version, repos or hostroot")}
			}
			if configFlag(fs, name) == nil {
				continue // driver.type on a command without driver types
			}
			if _, set := m[name]; !set {
				m[name] = v
			}
		}
		for k := range falcoctlSections {
			delete(m, k)
		}
	}
	for k, v := range m {
		name := strings.ReplaceAll(k, "_", "-")
		f := configFlag(fs, name)
		if f == nil {
			return usageError{fmt.Sprintf("--config %s: unknown key %q", path, k)}
		}
		if f.Changed {
			continue
		}
		var s string
		switch v := v.(type) {
		case []any:
			parts := make([]string, len(v))
			for i, x := range v {
				parts[i] = fmt.Sprint(x)
			}
			s = strings.Join(parts, ",")
		default:
			s = fmt.Sprint(v)
		}
		if err := setFlag(fs, f, s); err != nil {
			return usageError{fmt.Sprintf("--config %s: %s: %v", path, k, err)}
		}
	}
	return nil
}
