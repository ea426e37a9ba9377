package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/loader"
)

type verifyOptions struct {
	Types   []string
	File    string // a legacy eBPF probe to verify instead of the installed one
	Timeout time.Duration
	Probe   probeFlags
}

// verifyResult is what `kdriver verify --output json` prints.
type verifyResult struct {
	Decision loader.Decision        `json:"decision"`
	Verify   *events.SelfTestResult `json:"verify,omitempty"`
}

func newVerifyCmd(g *globals) *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Self-test the driver with the embedded event reader",
		Long: `Run a child that execs, opens a nonce file, connects to a closed loopback port and
exits with 42, and pass only if the driver delivers each of those events with the
right values and drops nothing. Without --type, a loaded kernel module is the
driver verified; otherwise auto's choice (the modern eBPF probe is loaded for the test).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVerify(cmd.Context(), g, o)
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&o.Types, "type", nil, "driver type to verify (auto, modern-ebpf, kmod …); repeatable priority list (default auto)")
	fs.StringVar(&o.File, "file", "", "legacy eBPF probe file to load and verify (--type ebpf) instead of the one install placed in the cache, after the same preflight as install --file")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "time the self-test waits for its events")
	o.Probe.bind(fs)
	cmd.AddCommand(newSelfTestChildCmd())
	return cmd
}

// newSelfTestChildCmd is the self-test's child: hidden, run by verify.
func newSelfTestChildCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "selftest-child PATH PORT",
		Hidden: true,
		Args:   cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			port, err := strconv.Atoi(args[1])
			if err != nil {
				return usageError{"selftest-child: port: " + err.Error()}
			}
			os.Exit(events.RunSelfTestChild(args[0], port))
			return nil
		},
	}
}

func runVerify(ctx context.Context, g *globals, o *verifyOptions) error {
	types, err := parseDriverTypes(o.Types)
	if err != nil {
		return err
	}
	if o.Timeout <= 0 {
		return usageError{fmt.Sprintf("--timeout %v: want a positive duration", o.Timeout)}
	}
	if o.File != "" {
		// A kernel module is verified loaded (install --file loads it);
		// a probe lives only while its loader runs, so verify loads it.
		if len(types) != 1 || types[0] != loader.EBPF {
			return usageError{fmt.Sprintf("--file %s is a legacy eBPF probe: it needs --type ebpf (got %s)", o.File, typeList(types))}
		}
		if err := checkInputFile("--file", o.File); err != nil {
			return err
		}
	}
	mopts, err := o.Probe.options(nil)
	if err != nil {
		return err
	}
	facts, err := hostFacts(ctx, g)
	if err != nil {
		return err
	}
	res := &verifyResult{}
	if name, ok := libsModule(g, types); ok {
		// The text header goes to stdout only without --output json.
		w := g.stdout
		if g.JSON() {
			w = io.Discard
		}
		res.Verify, err = verifyLibs(ctx, g, name, o, w)
		if g.JSON() {
			if jerr := writeJSON(g.stdout, res); jerr != nil && err == nil {
				err = jerr
			}
		} else if res.Verify != nil {
			printSelfTest(g.stdout, res.Verify)
		}
		return err
	}
	err = func() error {
		d, err := loader.Choose(facts, loadedFirst(types, facts))
		res.Decision = d
		if err != nil {
			return err
		}
		eopts, err := installedProbe(g, mopts.BufSizePreset, nil)
		if err != nil {
			return err
		}
		eopts.File = o.File
		drv, err := loader.NewDriver(d.Driver, loader.DriverConfig{Modern: mopts, EBPF: eopts, Logger: g.logger})
		if err != nil {
			return err
		}
		if _, err := drv.Preflight(ctx, facts); err != nil {
			return err
		}
		res.Verify, err = loader.Verify(ctx, drv, events.SelfTestOptions{
			Command: selfTestCommand, Timeout: o.Timeout, Logger: g.logger,
		})
		return err
	}()
	if g.JSON() {
		if jerr := writeJSON(g.stdout, res); jerr != nil && err == nil {
			err = jerr
		}
		return err
	}
	printDecision(g.stdout, res.Decision)
	if res.Verify != nil {
		printSelfTest(g.stdout, res.Verify)
	}
	return err
}
