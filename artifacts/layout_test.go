package artifacts

import (
	"testing"

	"github.com/kdriver/kdriver/kernelrelease"
)

// TestFalcoURL: the URL in Falco's layout escapes '+' in the driver
// version only; the file name goes as is (COS's "6.1.58+").
func TestFalcoURL(t *testing.T) {
	tg := kernelrelease.NewTarget(kernelrelease.OS{ID: "cos", BuildID: "17800.66.78"}, kernelrelease.MustParse("6.1.58+"), kernelrelease.ParseVersion("#1 SMP PREEMPT_DYNAMIC Sat Oct 28 14:12:24 UTC 2023"), kernelrelease.ArchX86_64)
	got := HTTPURL("https://download.falco.org/driver", tg.Artifact("falco", "8.1.0+driver", KindEBPF))
	want := "https://download.falco.org/driver/8.1.0%2Bdriver/x86_64/falco_cos_6.1.58+_1.o"
	if got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
}
