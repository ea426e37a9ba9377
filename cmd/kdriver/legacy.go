package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// legacyUsage is falco-driver-loader's help, with kdriver's additions.
const legacyUsage = `Usage:
  falco-driver-loader [driver] [options]

Available drivers:
  kmod          kernel module (default; "module" is accepted too)
  ebpf          eBPF probe ("bpf" is accepted too; FALCO_BPF_PROBE selects it)
  modern_ebpf   modern eBPF probe, embedded: nothing to download or compile
  auto          let kdriver choose the best driver for this host

Options:
  --help         show brief help
  --clean        try to remove an already present driver installation
  --compile      try to compile the driver locally (default true)
  --download     try to download a prebuilt driver (default true)
  --print-env    print the variables the loader computes and exit
  --kernelrelease R, --kernelversion V   override uname -r / uname -v

Environment variables:
  DRIVERS_REPO             URL(s) where to look for prebuilt drivers (comma separated)
  DRIVER_NAME              a different name for the driver
  DRIVER_VERSION           a different driver version
  DRIVER_KERNEL_RELEASE, DRIVER_KERNEL_VERSION   override uname -r / uname -v
  HOST_ROOT                read the host through this folder (container use: /host)

Any other kdriver global flag (--output, --log-level, --repo …) is accepted as well.
This is kdriver running under its legacy name: 'kdriver --help' shows everything.
`

// newLegacyCmd is the falco-driver-loader command line. It translates the
// legacy arguments into the equivalent kdriver command and runs that, so the
// legacy name never has behaviour of its own to drift.
func newLegacyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:                "falco-driver-loader",
		SilenceUsage:       true,
		SilenceErrors:      true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			kargs, help, err := translateLegacy(args, os.LookupEnv)
			if err != nil {
				fmt.Fprint(cmd.ErrOrStderr(), legacyUsage)
				return err
			}
			if help {
				_, err := io.WriteString(cmd.OutOrStdout(), legacyUsage)
				return err
			}
			root := newRootCmd(g)
			root.SetArgs(kargs)
			root.SetOut(cmd.OutOrStdout())
			root.SetErr(cmd.ErrOrStderr())
			return root.ExecuteContext(cmd.Context())
		},
	}
}

// legacyDrivers maps the legacy driver words to kdriver's --type values.
var legacyDrivers = map[string]string{
	"kmod":        "kmod",
	"module":      "kmod",
	"ebpf":        "ebpf",
	"bpf":         "ebpf",
	"modern_ebpf": "modern-ebpf",
	"modern-ebpf": "modern-ebpf",
	"modern-bpf":  "modern-ebpf",
	"auto":        "auto",
}

// translateLegacy turns falco-driver-loader arguments into kdriver ones.
// As in the legacy script: one driver per invocation; with neither
// --compile nor --download both are on; --clean takes no other option.
func translateLegacy(args []string, lookup func(string) (string, bool)) (kargs []string, help bool, err error) {
	driver, explicit := "", false
	var compile, download, clean, printEnv bool
	var globals []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-h" || a == "--help":
			return nil, true, nil
		case a == "--clean":
			clean = true
		case a == "--compile":
			compile = true
		case a == "--download":
			download = true
		case a == "--print-env":
			printEnv = true
		case a == "--source-only":
			return nil, false, usageError{"--source-only: kdriver is not a shell script and cannot be sourced; use 'kdriver printenv'"}
		case strings.HasPrefix(a, "-"):
			// A kdriver global flag (--kernelrelease, --output json …):
			// passed through as is, with its value when it takes one.
			globals = append(globals, a)
			if !strings.Contains(a, "=") && legacyFlagTakesValue(a) {
				if i+1 >= len(args) {
					return nil, false, usageError{fmt.Sprintf("%s needs a value", a)}
				}
				i++
				globals = append(globals, args[i])
			}
		default:
			t, ok := legacyDrivers[a]
			if !ok {
				return nil, false, usageError{fmt.Sprintf("unknown driver %q: want kmod, ebpf, modern_ebpf or auto", a)}
			}
			if driver != "" {
				return nil, false, usageError{"only one driver per invocation"}
			}
			driver, explicit = t, true
		}
	}
	if driver == "" {
		driver = "kmod"
		if _, ok := lookup("FALCO_BPF_PROBE"); ok {
			driver = "ebpf"
		}
	}
	switch {
	case printEnv:
		kargs = append(globals, "printenv")
		if explicit {
			kargs = append(kargs, "--type", driver)
		}
		return kargs, false, nil
	case clean:
		if compile || download {
			return nil, false, usageError{"cannot use --clean with other options"}
		}
		return append(globals, "cleanup"), false, nil
	}
	if !compile && !download {
		compile, download = true, true
	}
	kargs = append(globals, "install", "--type", driver,
		fmt.Sprintf("--compile=%t", compile), fmt.Sprintf("--download=%t", download))
	return kargs, false, nil
}

// legacyFlagTakesValue reports whether a global flag given without '='
// consumes the next argument.
func legacyFlagTakesValue(flag string) bool {
	switch strings.TrimLeft(flag, "-") {
	case "quiet", "help":
		return false
	}
	return true
}
