package kmod_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kdriver/kdriver/internal/testenv"
)

// TestVMConsoleJudge runs scripts/vm/parse-console.sh, which turns a guest's
// console into the results scripts/vmtest reports, on consoles captured
// from real runs: a clean one, a failed case, and a kernel Oops that stopped
// the guest.
func TestVMConsoleJudge(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		testenv.Missing(t, "jq not installed: run scripts/setup-vm.sh")
	}
	for _, tc := range []struct {
		file string
		qemu string
		want map[string]bool // case → ok
	}{
		{"pass.txt", "0", map[string]bool{
			"load-verify": true, "mask": true, "unload-busy": true, "stress": true,
			"cycles": true, "cli": true, "boot": true, "kernel-log": true}},
		{"fail.txt", "0", map[string]bool{"cycles": false, "boot": true, "kernel-log": true}},
		// a skipped guest test and a -test.run that matched nothing (a
		// binary built without -tags vmguest) are failures, not passes
		{"skip.txt", "0", map[string]bool{"load-verify": false, "mask": false, "cycles": true, "boot": true, "kernel-log": true}},
		{"oops.txt", "124", map[string]bool{
			"load-verify": true, "mask": true, "unload-busy": true, "stress": true,
			"cycles": false, "boot": false, "kernel-log": false}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			console := filepath.Join("..", "scripts", "vm", "testdata", tc.file)
			out, err := exec.Command("bash", "../scripts/vm/parse-console.sh",
				"6.1", "amd64", "6.1.0-56-amd64", console, tc.qemu, "30").Output()
			if err != nil {
				t.Fatalf("parse-console.sh: %v", err)
			}
			got := map[string]bool{}
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				var r struct {
					Case   string         `json:"case"`
					OK     bool           `json:"ok"`
					Detail map[string]any `json:"detail"`
				}
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatalf("not JSON: %q: %v", sc.Text(), err)
				}
				if _, dup := got[r.Case]; dup {
					t.Fatalf("case %s reported twice", r.Case)
				}
				got[r.Case] = r.OK
				if !r.OK && r.Detail["error"] == nil {
					t.Errorf("failed case %s without an error: %s", r.Case, sc.Text())
				}
				if r.Case == "stress" && r.Detail["drops"] == nil {
					t.Errorf("stress result hides drops: %s", sc.Text())
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("cases %v, want %v", got, tc.want)
			}
			for c, ok := range tc.want {
				if g, seen := got[c]; !seen || g != ok {
					t.Errorf("case %s: ok=%v (reported %v), want ok=%v", c, g, seen, ok)
				}
			}
		})
	}
}
