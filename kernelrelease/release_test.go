package kernelrelease

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRoundTrip(t *testing.T) {
	tests := []struct {
		in                 string
		v, p, s            int
		full, extra, fullX string
	}{
		{"4.15.0-1057-aws", 4, 15, 0, "4.15.0", "1057-aws", "-1057-aws"},
		{"3.10.0-957.12.2.el7.aarch64", 3, 10, 0, "3.10.0", "957", "-957.12.2.el7.aarch64"},
		{"4.14.171-136.231.amzn2.x86_64", 4, 14, 171, "4.14.171", "136", "-136.231.amzn2.x86_64"},
		{"5.19.3.arch1-1", 5, 19, 3, "5.19.3", "arch1-1", ".arch1-1"},
		{"5.10.136-1~deb10u3-amd64", 5, 10, 136, "5.10.136", "1", "-1~deb10u3-amd64"},
		{"6.4-rc1", 6, 4, 0, "6.4", "rc1", "-rc1"},
		{"5.15.146+", 5, 15, 146, "5.15.146", "", "+"},
		{"4.19+105+deb10u4~bpo9+1", 4, 19, 105, "4.19+105", "deb10u4", "+deb10u4~bpo9+1"},
		{"6.1.0-13-amd64", 6, 1, 0, "6.1.0", "13-amd64", "-13-amd64"},
		{"6.12.117+deb12-amd64", 6, 12, 117, "6.12.117", "deb12-amd64", "+deb12-amd64"},
		{"7", 7, 0, 0, "7", "", ""},
		{"5.5.2", 5, 5, 2, "5.5.2", "", ""},
		{"5.15.0-1051-aws-5.15", 5, 15, 0, "5.15.0", "1051-aws-5", "-1051-aws-5.15"},
		{"4.9.65-2+grsecunoff1~bpo9+1-amd6", 4, 9, 65, "4.9.65", "2", "-2+grsecunoff1~bpo9+1-amd6"},
		{"5.4.119-19.0009.28", 5, 4, 119, "5.4.119", "19", "-19.0009.28"},
		{"6.18.44-fc-v669", 6, 18, 44, "6.18.44", "fc-v669", "-fc-v669"},
		{"6.1.", 6, 1, 0, "6.1", "", "."},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.String() != tt.in {
				t.Errorf("String() = %q, want %q", r.String(), tt.in)
			}
			if r.Version != tt.v || r.PatchLevel != tt.p || r.SubLevel != tt.s {
				t.Errorf("numbers = %d.%d.%d, want %d.%d.%d", r.Version, r.PatchLevel, r.SubLevel, tt.v, tt.p, tt.s)
			}
			if r.Fullversion != tt.full || r.Extraversion != tt.extra || r.FullExtraversion != tt.fullX {
				t.Errorf("parts = %q %q %q, want %q %q %q", r.Fullversion, r.Extraversion, r.FullExtraversion, tt.full, tt.extra, tt.fullX)
			}
			if r.Fullversion+r.FullExtraversion != tt.in {
				t.Errorf("Fullversion+FullExtraversion = %q, want the input", r.Fullversion+r.FullExtraversion)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	for _, in := range []string{"", "abc", "-1.2", " 6.1.0", "v6.1", "99999999999.1"} {
		t.Run(in, func(t *testing.T) {
			r, err := Parse(in)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) error = %v, want ErrInvalid", in, err)
			}
			if r.Raw != in {
				t.Errorf("Raw = %q, want the input kept", r.Raw)
			}
			if !strings.Contains(err.Error(), "uname -r") {
				t.Errorf("error %q does not say what is expected", err)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"5.8", "5.8.0", 0},
		{"5.8.0-1-amd64", "5.8.0", 0},
		{"5.7.19", "5.8.0", -1},
		{"6.4-rc1", "6.3.99", 1},
		{"4.19+105", "4.19.104", 1},
		{"10.0.0", "9.99.99", 1},
		{"7", "6.18.44", 1},
		{"4.14.0", "4.14", 0},
	}
	for _, tt := range tests {
		a, b := MustParse(tt.a), MustParse(tt.b)
		if got := a.Compare(b); got != tt.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := b.Compare(a); got != -tt.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
	if !MustParse("5.8.0").AtLeast(5, 8, 0) || MustParse("5.4.0-100-lowlatency").AtLeast(5, 8, 0) {
		t.Error("AtLeast(5, 8, 0) is wrong at the boundary")
	}
	if got := MustParse("6.4-rc1").Numeric(); got != "6.4.0" {
		t.Errorf("Numeric = %q, want 6.4.0", got)
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in, token   string
		build       int
		distro, pkg string
	}{
		{"#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)", "1", 1, "Debian", "6.1.55-1"},
		{"#26~22.04.1-Ubuntu SMP Mon Apr 24 01:58:15 UTC 2023", "26~22.04.1-Ubuntu", 26, "Ubuntu", "22.04.1"},
		{"#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023", "101-Ubuntu", 101, "Ubuntu", ""},
		{"#1 SMP PREEMPT_DYNAMIC Tue, 10 Oct 2023 21:10:21 +0000", "1", 1, "", ""},
		{"5.10.178-3", "5.10.178-3", 5, "", ""},
		{"1", "1", 1, "", ""},
		{"", "", -1, "", ""},
		{"#", "", -1, "", ""},
		{"SMP", "SMP", -1, "", ""},
	}
	for _, tt := range tests {
		v := ParseVersion(tt.in)
		if v.Raw != tt.in || v.Token != tt.token || v.Build != tt.build || v.Distro != tt.distro || v.Package != tt.pkg {
			t.Errorf("ParseVersion(%q) = %+v, want token %q build %d distro %q package %q", tt.in, v, tt.token, tt.build, tt.distro, tt.pkg)
		}
	}
}

func TestParseArch(t *testing.T) {
	for in, want := range map[string]Arch{"x86_64": ArchX86_64, "amd64": ArchX86_64, "aarch64": ArchAarch64, "arm64": ArchAarch64} {
		if got, err := ParseArch(in); err != nil || got != want {
			t.Errorf("ParseArch(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "riscv64", "x86", "ARM64"} {
		if _, err := ParseArch(in); !errors.Is(err, ErrUnknownArch) {
			t.Errorf("ParseArch(%q) error = %v, want ErrUnknownArch", in, err)
		}
	}
}

func FuzzParseRelease(f *testing.F) {
	for _, s := range []string{"4.15.0-1057-aws", "5.15.146+", "4.19+105+deb10u4~bpo9+1", "7", "6.4-rc1", "", "1.", "1.2+", "0.0.0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if r.Raw != s || r.String() != s {
			t.Fatalf("Parse(%q) lost the input: %q", s, r.Raw)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) error %v is not ErrInvalid", s, err)
			}
			return
		}
		if r.Fullversion+r.FullExtraversion != s {
			t.Fatalf("Parse(%q): %q + %q is not the input", s, r.Fullversion, r.FullExtraversion)
		}
		if r.Version < 0 || r.PatchLevel < 0 || r.SubLevel < 0 {
			t.Fatalf("Parse(%q): negative number", s)
		}
		if r.Compare(r) != 0 {
			t.Fatalf("Parse(%q): not equal to itself", s)
		}
		// The target rules must accept whatever Parse accepts.
		_ = NewTarget(OS{ID: "ubuntu"}, r, ParseVersion(s), ArchX86_64)
		_ = NewTarget(OS{ID: "debian"}, r, ParseVersion(s), ArchX86_64)
		_ = NewTarget(OS{ID: "flatcar", VersionID: s}, r, ParseVersion(s), ArchX86_64).Validate()
	})
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)", "#26~22.04.1-Ubuntu SMP", "", "#", "-Ubuntu", "~-Ubuntu"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := ParseVersion(s)
		if v.Raw != s {
			t.Fatalf("ParseVersion(%q) lost the input", s)
		}
		if strings.ContainsRune(v.Token, ' ') || !strings.Contains(s, v.Token) {
			t.Fatalf("ParseVersion(%q): token %q is not one word of the input", s, v.Token)
		}
		if v.Build < -1 {
			t.Fatalf("ParseVersion(%q): build %d", s, v.Build)
		}
	})
}
