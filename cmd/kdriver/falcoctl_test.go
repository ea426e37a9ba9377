package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// falcoctlExpected is what the real falcoctl v0.13.0 printed for each
// fixture host; scripts/falcoctl-expected.sh regenerates it.
const falcoctlExpected = "../../testdata/falcoctl/printenv-v0.13.0.txt"

// readFalcoctlExpected parses the file: "[host]" sections of KEY="value"
// lines, values quoted as falcoctl prints them.
func readFalcoctlExpected(t *testing.T) map[string]map[string]string {
	t.Helper()
	data, err := os.ReadFile(falcoctlExpected)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	var cur map[string]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			cur = map[string]string{}
			out[line[1:len(line)-1]] = cur
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || cur == nil {
				t.Fatalf("%s: bad line %q", falcoctlExpected, line)
			}
			if uq, err := strconv.Unquote(v); err == nil {
				v = uq
			}
			cur[k] = v
		}
	}
	return out
}

// TestFalcoctlParity: on every fixture host, kdriver names the target, the
// fixed kernel release and version and the artifact files exactly as the
// real falcoctl v0.13.0 does, and prints the same KERNEL_RELEASE and
// KERNEL_VERSION. The expected values were produced by running falcoctl.
func TestFalcoctlParity(t *testing.T) {
	want := readFalcoctlExpected(t)
	hosts, err := os.ReadDir("../../testdata/hosts")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range hosts {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("no falcoctl values for fixture host %s: run scripts/falcoctl-expected.sh", name)
			}
			if w["ERROR"] != "" {
				t.Fatalf("falcoctl printenv failed on this host (%s): nothing to compare; record its values (scripts/falcoctl-expected.sh)", w["ERROR"])
			}
			root := filepath.Join("../../testdata/hosts", name)
			args := []string{"kdriver", "--host-root", root, "--driver-name", "falco", "--driver-version", "8.1.0+driver"}
			if v, err := os.ReadFile(filepath.Join(root, "proc/sys/kernel/version")); err == nil && len(bytes.TrimSpace(v)) == 0 {
				// falcoctl took an empty --kernelversion as not given and
				// read the uname -v of the machine it ran on: give kdriver
				// that same input.
				args = append(args, "--kernel-version", w["KERNEL_VERSION"])
			}
			// Where falcoctl refuses kmod (KMOD_ERROR) its values come from
			// --type modern_ebpf; the names do not depend on the type.
			args = append(args, "printenv", "--type", "kmod")
			var env, js, stderr bytes.Buffer
			if code := run(context.Background(), args, &env, &stderr); code != 0 {
				t.Fatalf("printenv: exit %d: %s", code, stderr.String())
			}
			if code := run(context.Background(), append(args, "-o", "json"), &js, &stderr); code != 0 {
				t.Fatalf("printenv -o json: exit %d: %s", code, stderr.String())
			}
			got := parseEnv(t, env.String())
			for _, k := range []string{"TARGET_ID", "KERNEL_RELEASE", "KERNEL_VERSION", "FIXED_KERNEL_RELEASE", "FIXED_KERNEL_VERSION", "DRIVER_NAME", "DRIVER_VERSION"} {
				if why, ok := falcoctlDiffers[name][k]; ok {
					// kdriver keeps what the host says (docs/falco.md)
					raw, _ := os.ReadFile(filepath.Join(root, "proc/sys/kernel/osrelease"))
					if want := string(bytes.TrimSpace(raw)); got[k] != want {
						t.Errorf("%s = %q, want the host's own %q (%s; falcoctl says %q)", k, got[k], want, why, w[k])
					}
					continue
				}
				if got[k] != w[k] {
					t.Errorf("%s = %q, falcoctl says %q", k, got[k], w[k])
				}
			}
			var res printenvResult
			if err := json.Unmarshal(js.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct{ got, req string }{{res.KmodFile, "KMOD_REQUEST"}, {res.EBPFFile, "EBPF_REQUEST"}} {
				if w[f.req] == "" {
					continue // falcoctl asked for nothing (no target to name)
				}
				if wf := path.Base(w[f.req]); f.got != wf {
					t.Errorf("file %q, falcoctl asks for %q", f.got, wf)
				}
			}
		})
	}
}

// falcoctlDiffers are the values where kdriver deliberately differs from
// falcoctl v0.13.0, by host and key, with the reason (docs/falco.md).
var falcoctlDiffers = map[string]map[string]string{
	"nonsense-kernel": {
		"KERNEL_RELEASE":       "falcoctl blanks a release it cannot parse and would request falco_debian__1.ko",
		"FIXED_KERNEL_RELEASE": "the same: kdriver keeps the release the host reports",
	},
}

// parseEnv reads printenv's KEY="value" lines.
func parseEnv(t *testing.T, s string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		k, v, _ := strings.Cut(line, "=")
		uq, err := strconv.Unquote(v)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		m[k] = uq
	}
	return m
}
