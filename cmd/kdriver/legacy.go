package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// falcoDriverRepo is Falco's own driver download site: the documented
// default of falco-driver-loader and falcoctl, used only under the legacy
// name (kdriver itself has no default repository).
const falcoDriverRepo = "https://download.falco.org/driver"

// falcoDriverName is the driver Falco reads.
const falcoDriverName = "falco"

// legacyUsage is falco-driver-loader's help, with kdriver's additions.
const legacyUsage = `Usage:
  falco-driver-loader [driver] [options]

Available drivers:
  kmod          kernel module (default; "module" is accepted too)
  ebpf          eBPF probe ("bpf" is accepted too; FALCO_BPF_PROBE selects it)
  modern_ebpf   modern eBPF probe, embedded: nothing to download or compile
  auto          the best of modern_ebpf, kmod and ebpf this host can run

Options:
  --help         show brief help
  --clean        try to remove an already present driver installation
  --compile      try to compile the driver locally (default true)
  --download     try to download a prebuilt driver (default true)
  --print-env    print the variables the loader computes and exit
  --kernelrelease R, --kernelversion V   override uname -r / uname -v
  --http-insecure, --http-headers "N: v,N2: v2", --http-timeout D   download settings
  --name N, --version V, --repo URL[,URL], --type T, --host-root DIR   as falcoctl driver

Environment variables:
  DRIVERS_REPO             URL(s) where to look for prebuilt drivers (comma separated)
  DRIVER_NAME              a different name for the driver (default falco)
  DRIVER_VERSION           a different driver version
  DRIVER_INSECURE_DOWNLOAD allow insecure downloads
  DRIVER_CURL_OPTIONS      curl options; -k, -H, --connect-timeout, -m, --retry are mapped
  DRIVER_KERNEL_RELEASE, DRIVER_KERNEL_VERSION   override uname -r / uname -v
  HOST_ROOT                read the host through this folder (container use: /host)
  FALCOCTL_DRIVER_*        falcoctl's variables (REPOS, TYPE, NAME, VERSION, HOSTROOT, HTTP_HEADERS)

Any other kdriver global flag (--output, --log-level, --config …) is accepted as well.
This is kdriver running under its legacy name: 'kdriver --help' shows everything.
See docs/falco.md for what each option and variable does here.
`

// newLegacyCmd is the falco-driver-loader command line. It translates the
// legacy arguments into the equivalent kdriver command and runs that, so the
// legacy name never has behaviour of its own to drift. The defaults are
// Falco's: driver name falco and Falco's driver repository.
func newLegacyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:                "falco-driver-loader",
		SilenceUsage:       true,
		SilenceErrors:      true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := newRootCmd(g)
			setFalcoDefaults(root.PersistentFlags(), g)
			kargs, help, err := translateLegacy(args, os.LookupEnv, root.PersistentFlags())
			if err != nil {
				fmt.Fprint(cmd.ErrOrStderr(), legacyUsage)
				return err
			}
			if help {
				_, err := io.WriteString(cmd.OutOrStdout(), legacyUsage)
				return err
			}
			root.SetArgs(kargs)
			root.SetOut(cmd.OutOrStdout())
			root.SetErr(cmd.ErrOrStderr())
			return root.ExecuteContext(cmd.Context())
		},
	}
}

// setFalcoDefaults makes Falco's driver name and repository the defaults
// without marking the flags as given: DRIVER_NAME, DRIVERS_REPO, a config
// file and the flags still override them.
func setFalcoDefaults(fs *pflag.FlagSet, g *globals) {
	g.DriverName = falcoDriverName
	fs.Lookup("driver-name").DefValue = falcoDriverName
	g.Repos = []string{falcoDriverRepo}
	fs.Lookup("repo").DefValue = "[" + falcoDriverRepo + "]"
}

// legacyDrivers maps the legacy driver words to kdriver's --type values.
// auto is Falco's auto: its three drivers, never kdriver's userspace tracer.
var legacyDrivers = map[string][]string{
	"kmod":        {"kmod"},
	"module":      {"kmod"},
	"ebpf":        {"ebpf"},
	"bpf":         {"ebpf"},
	"modern_ebpf": {"modern-ebpf"},
	"modern-ebpf": {"modern-ebpf"},
	"modern-bpf":  {"modern-ebpf"},
	"auto":        {"modern-ebpf", "kmod", "ebpf"},
}

// legacyAliases are falcoctl driver flags spelled differently in kdriver.
var legacyAliases = map[string]string{
	"name":     "driver-name",
	"version":  "driver-version",
	"hostroot": "host-root",
}

// legacyRun collects what translateLegacy finds.
type legacyRun struct {
	driver           []string
	explicit         bool
	compile          bool
	download         bool
	clean            bool
	printEnv         bool
	globals          []string // kdriver global flags, before the command
	store            []string // store flags of install (after the command)
	insecure         bool
	headers          []string
	timeout, connect string
	retries          string
	// bpfProbe is FALCO_BPF_PROBE's path: where the probe is placed.
	bpfProbe string
}

// translateLegacy turns falco-driver-loader arguments into kdriver ones.
// As in the legacy script: one driver per invocation; with neither
// --compile nor --download both are on; --clean takes no other option; an
// option it does not know is refused. fs holds kdriver's global flags,
// which are accepted as they are.
func translateLegacy(args []string, lookup func(string) (string, bool), fs *pflag.FlagSet) (kargs []string, help bool, err error) {
	var r legacyRun
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		next := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", usageError{fmt.Sprintf("%s needs a value", a)}
			}
			i++
			return args[i], nil
		}
		switch {
		case a == "-h" || a == "--help":
			return nil, true, nil
		case a == "--clean":
			r.clean = true
		case a == "--compile":
			r.compile = true
		case a == "--download":
			r.download = true
		case a == "--print-env":
			r.printEnv = true
		case a == "--source-only":
			return nil, false, usageError{"--source-only: kdriver is not a shell script and cannot be sourced; use 'falco-driver-loader --print-env' or 'kdriver printenv'"}
		case a == "--http-insecure":
			r.insecure = true
		case a == "--download-headers":
			// falcoctl lets its builder fetch kernel headers; kdriver
			// fetches missing headers from a Debian host's apt sources
			// whenever it compiles, so this adds nothing.
		case strings.HasPrefix(a, "--") && (name == "http-headers" || name == "http-timeout" || name == "type"):
			v, err := next()
			if err != nil {
				return nil, false, err
			}
			switch name {
			case "http-headers":
				r.headers = append(r.headers, splitList(v, ",")...)
			case "http-timeout":
				r.timeout = v
			case "type":
				if err := r.setDriver(splitList(v, ",;")); err != nil {
					return nil, false, err
				}
			}
		case strings.HasPrefix(a, "-"):
			if to, ok := legacyAliases[name]; ok && strings.HasPrefix(a, "--") {
				name = to
			}
			f := fs.Lookup(name)
			if len(a) == 2 && a[0] == '-' {
				f = fs.ShorthandLookup(a[1:])
			}
			if f == nil || !(strings.HasPrefix(a, "--") || len(a) == 2) {
				return nil, false, usageError{fmt.Sprintf("unknown option: %s", a)}
			}
			if f.Value.Type() == "bool" {
				r.globals = append(r.globals, a)
				continue
			}
			v, err := next()
			if err != nil {
				return nil, false, err
			}
			r.globals = append(r.globals, "--"+f.Name, v)
		default:
			if err := r.setDriver([]string{a}); err != nil {
				return nil, false, err
			}
		}
	}
	if r.clean && (r.compile || r.download) {
		return nil, false, usageError{"cannot use --clean with other options"}
	}
	if err := r.fromEnv(lookup); err != nil {
		return nil, false, err
	}
	return r.kdriverArgs(), false, nil
}

// setDriver records the one driver of this invocation.
func (r *legacyRun) setDriver(words []string) error {
	var types []string
	for _, w := range words {
		t, ok := legacyDrivers[strings.ToLower(w)]
		if !ok {
			return usageError{fmt.Sprintf("unknown driver %q: want kmod, ebpf, modern_ebpf or auto", w)}
		}
		types = append(types, t...)
	}
	if r.explicit {
		return usageError{"only one driver per invocation"}
	}
	r.driver, r.explicit = types, true
	return nil
}

// fromEnv applies the legacy script's variables that are not flags:
// FALCO_BPF_PROBE, DRIVER_INSECURE_DOWNLOAD and DRIVER_CURL_OPTIONS.
// Command-line options win.
func (r *legacyRun) fromEnv(lookup func(string) (string, bool)) error {
	if !r.explicit {
		r.driver = []string{"kmod"}
		if _, ok := lookup("FALCO_BPF_PROBE"); ok {
			r.driver = []string{"ebpf"}
		}
	}
	if v, ok := lookup("FALCO_BPF_PROBE"); ok && v != "" {
		r.bpfProbe = v
	}
	if v, ok := lookup("DRIVER_INSECURE_DOWNLOAD"); ok && v != "" {
		r.insecure = true
	}
	if v, ok := lookup("DRIVER_CURL_OPTIONS"); ok && strings.TrimSpace(v) != "" {
		if err := r.curlOptions(v); err != nil {
			return err
		}
	}
	return nil
}

// curlOptions maps the curl options that have a kdriver equivalent and
// refuses the rest: silently dropping, say, a proxy would download from
// somewhere the user did not mean.
func (r *legacyRun) curlOptions(v string) error {
	words := strings.Fields(v)
	for i := 0; i < len(words); i++ {
		w := words[i]
		arg := func() (string, error) {
			if i+1 >= len(words) {
				return "", usageError{fmt.Sprintf("DRIVER_CURL_OPTIONS: %s needs a value", w)}
			}
			i++
			return words[i], nil
		}
		var err error
		switch w {
		case "-k", "--insecure":
			r.insecure = true
		case "-f", "--fail", "-s", "--silent", "-S", "--show-error", "-sS", "-fsS", "-fs", "-L", "--location":
			// What kdriver does anyway: fail on HTTP errors, no progress
			// meter on a pipe, follow redirects.
		case "-H", "--header":
			// A header value may hold spaces: the rest up to the next option.
			var h []string
			for i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") {
				i++
				h = append(h, words[i])
			}
			if len(h) == 0 {
				return usageError{fmt.Sprintf("DRIVER_CURL_OPTIONS: %s needs a value", w)}
			}
			r.headers = append(r.headers, strings.Trim(strings.Join(h, " "), `"'`))
		case "--connect-timeout":
			r.connect, err = arg()
			r.connect += "s"
		case "-m", "--max-time":
			r.timeout, err = arg()
			r.timeout += "s"
		case "--retry":
			r.retries, err = arg()
		case "--retry-max-time", "--retry-delay":
			_, err = arg() // kdriver's retries back off on their own within --timeout
		default:
			return usageError{fmt.Sprintf("DRIVER_CURL_OPTIONS: curl option %q has no kdriver equivalent (mapped: -k -H --connect-timeout -m --retry; ignored: -f -s -S -L --retry-max-time --retry-delay); use kdriver's flags (--ca-bundle, --http-header …) instead", w)}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// kdriverArgs is the kdriver command line for the collected options.
func (r *legacyRun) kdriverArgs() []string {
	kargs := append([]string{}, r.globals...)
	compile, download := r.compile, r.download
	if !compile && !download {
		compile, download = true, true
	}
	switch {
	case r.printEnv:
		// The same driver a plain run installs, and the script's
		// ENABLE_COMPILE / ENABLE_DOWNLOAD.
		kargs = append(kargs, "printenv", fmt.Sprintf("--compile=%t", compile), fmt.Sprintf("--download=%t", download))
		for _, t := range r.driver {
			kargs = append(kargs, "--type", t)
		}
		return kargs
	case r.clean:
		return append(kargs, "cleanup")
	}
	kargs = append(kargs, "install")
	for _, t := range r.driver {
		kargs = append(kargs, "--type", t)
	}
	kargs = append(kargs, fmt.Sprintf("--compile=%t", compile), fmt.Sprintf("--download=%t", download))
	if r.insecure {
		kargs = append(kargs, "--insecure")
	}
	for _, h := range r.headers {
		kargs = append(kargs, "--http-header", h)
	}
	for _, p := range [][2]string{{"--timeout", r.timeout}, {"--connect-timeout", r.connect}, {"--retries", r.retries},
		{"--falco-bpf-probe", r.bpfProbe}} {
		if p[1] != "" {
			kargs = append(kargs, p[0], p[1])
		}
	}
	return kargs
}

// splitList splits on any of seps and drops empty items.
func splitList(v, seps string) []string {
	var out []string
	for _, s := range strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
