package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/loader"
	"github.com/kdriver/kdriver/scap"
)

// libsModule returns the device name of the libs kernel module (Falco's
// driver, read by package scap) that verify and events read instead of
// kdriver's own drivers: a --driver-name other than kdriver's, when the
// kernel module is what is asked for (no --type, or kmod). Until driver
// kits make the format data, the driver name is the device name (scap,
// falco).
func libsModule(g *globals, types []loader.DriverType) (string, bool) {
	if g.DriverName == "" || g.DriverName == defaultDriverName {
		return "", false
	}
	if len(types) > 0 && !slices.Contains(types, loader.Kmod) {
		return "", false
	}
	return g.DriverName, true
}

// openLibs opens the libs module's devices and says which it reads.
func openLibs(g *globals, name string, w io.Writer) (*scap.Device, error) {
	dev, err := scap.Open(scap.Options{Name: name})
	if err != nil {
		return nil, fmt.Errorf("driver kmod %s (libs module): %w", name, err)
	}
	fmt.Fprintf(w, "driver kmod: libs module %s, API %s, schema %s, %d CPU rings\n",
		name, dev.API, dev.Schema, dev.Rings())
	g.logger.Info("reading the libs module", "name", name, "api", dev.API.String(), "schema", dev.Schema.String())
	return dev, nil
}

// verifyLibs runs the self-test on the libs module's events.
func verifyLibs(ctx context.Context, g *globals, name string, o *verifyOptions, w io.Writer) (*events.SelfTestResult, error) {
	dev, err := openLibs(g, name, w)
	if err != nil {
		return nil, err
	}
	res, err := events.SelfTest(ctx, dev, events.SelfTestOptions{
		Command: selfTestCommand, Timeout: o.Timeout, Logger: g.logger,
	})
	if cerr := dev.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("driver kmod %s: close events: %w", name, cerr)
	}
	return res, err
}
