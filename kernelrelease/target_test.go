package kernelrelease

import (
	"errors"
	"strings"
	"testing"
)

// TestFalcoFileNames checks the names against what Falco's loader computes
// for the same host. The Debian and Flatcar rows were run through the real
// falcoctl v0.13.0 (the fixture hosts of testdata/falcoctl cover the same
// shapes, and cmd/kdriver's TestFalcoctlParity compares them all); the
// others were written by hand, not from this package's output.
func TestFalcoFileNames(t *testing.T) {
	tests := []struct {
		name    string
		os      OS
		release string
		version string
		arch    Arch
		kmod    string // expected Falco file name of the kernel module
		veto    bool   // kmod vetoed for this distro
	}{
		{"debian plain", OS{ID: "debian", VersionID: "12"}, "6.1.0-13-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)", ArchX86_64,
			"falco_debian_6.1.55-1-amd64_1.ko", false},
		{"debian cloud", OS{ID: "debian"}, "6.1.0-13-cloud-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)", ArchX86_64,
			"falco_debian_6.1.55-1-cloud-amd64_1.ko", false},
		{"debian rt", OS{ID: "debian"}, "6.1.0-13-rt-amd64", "#1 SMP PREEMPT_RT Debian 6.1.55-1 (2023-09-29)", ArchX86_64,
			"falco_debian_6.1.55-1-rt-amd64_1.ko", false},
		{"debian arm64", OS{ID: "debian"}, "6.1.0-13-arm64", "#1 SMP Debian 6.1.55-1 (2023-09-29)", ArchAarch64,
			"falco_debian_6.1.55-1-arm64_1.ko", false},
		{"debian backports +deb12", OS{ID: "debian"}, "6.12.117+deb12-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.12.117-1~deb12u1 (2025-01-01)", ArchX86_64,
			"falco_debian_6.12.117-1-amd64_1.ko", false},
		// A kernel version override that is a Debian package version names the real kernel.
		{"debian real release rt", OS{ID: "debian"}, "5.10.0-0.deb10.22-rt-amd64", "5.10.178-3", ArchX86_64,
			"falco_debian_5.10.178-3-rt-amd64_1.ko", false},
		{"debian real release plain", OS{ID: "debian"}, "5.10.0-0.deb10.22-amd64", "5.10.178-3", ArchX86_64,
			"falco_debian_5.10.178-3-amd64_1.ko", false},
		{"debian bpo version 1", OS{ID: "debian"}, "6.5.3-1~bpo12+1-rt-amd64", "1", ArchX86_64,
			"falco_debian_6.5.3-1~bpo12+1-rt-amd64_1.ko", false},
		{"debian from debian_version only", OS{Fallback: "debian"}, "4.19.0-6-amd64", "#1 SMP Debian 4.19.67-2+deb10u2 (2019-11-11)", ArchX86_64,
			"falco_debian_4.19.67-2-amd64_1.ko", false},
		{"ubuntu generic", OS{ID: "ubuntu"}, "5.15.0-91-generic", "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023", ArchX86_64,
			"falco_ubuntu-generic_5.15.0-91-generic_101.ko", false},
		{"ubuntu generic with ~", OS{ID: "ubuntu"}, "6.5.0-14-generic", "#14~22.04.1-Ubuntu SMP PREEMPT_DYNAMIC Mon Nov 20 18:15:30 UTC 2023", ArchX86_64,
			"falco_ubuntu-generic_6.5.0-14-generic_14~22.04.1.ko", false},
		{"ubuntu aws with ~", OS{ID: "ubuntu"}, "5.15.0-1051-aws", "#56~20.04.1-Ubuntu SMP Tue Nov 28 15:43:31 UTC 2023", ArchX86_64,
			"falco_ubuntu-aws_5.15.0-1051-aws_56~20.04.1.ko", false},
		{"ubuntu aws old style", OS{ID: "ubuntu"}, "5.0.0-1028-aws-5.0", "#31-Ubuntu SMP Mon Jun 10 15:55:09 UTC 2019", ArchX86_64,
			"falco_ubuntu-aws_5.0.0-1028-aws-5.0_31.ko", false},
		{"ubuntu gcp arm64", OS{ID: "ubuntu"}, "6.8.0-1015-gcp", "#17-Ubuntu SMP Mon Sep  2 16:31:36 UTC 2024", ArchAarch64,
			"falco_ubuntu-gcp_6.8.0-1015-gcp_17.ko", false},
		{"ubuntu azure", OS{ID: "ubuntu"}, "6.8.0-1021-azure", "#25-Ubuntu SMP Wed Jan 15 20:45:09 UTC 2025", ArchX86_64,
			"falco_ubuntu-azure_6.8.0-1021-azure_25.ko", false},
		{"ubuntu lowlatency", OS{ID: "ubuntu"}, "5.4.0-100-lowlatency", "#113-Ubuntu SMP PREEMPT Thu Feb 3 19:18:53 UTC 2022", ArchX86_64,
			"falco_ubuntu-lowlatency_5.4.0-100-lowlatency_113.ko", false},
		{"ubuntu no flavour", OS{ID: "ubuntu"}, "6.2.0", "#1 SMP", ArchX86_64,
			"falco_ubuntu-generic_6.2.0_1.ko", false},
		{"ubuntu ID upper case", OS{ID: "Ubuntu"}, "6.8.0-45-generic", "#45-Ubuntu SMP", ArchX86_64,
			"falco_ubuntu-generic_6.8.0-45-generic_45.ko", false},
		{"amazon linux 2", OS{ID: "amzn", VersionID: "2"}, "4.14.171-136.231.amzn2.x86_64", "#1 SMP Thu Feb 27 20:22:48 UTC 2020", ArchX86_64,
			"falco_amazonlinux2_4.14.171-136.231.amzn2.x86_64_1.ko", false},
		{"amazon linux 2022", OS{ID: "amzn", VersionID: "2022"}, "5.15.73-45.135.amzn2022.x86_64", "#1 SMP Tue Oct 11 21:07:27 UTC 2022", ArchX86_64,
			"falco_amazonlinux2022_5.15.73-45.135.amzn2022.x86_64_1.ko", false},
		{"amazon linux 2023 arm64", OS{ID: "amzn", VersionID: "2023"}, "6.1.79-99.164.amzn2023.aarch64", "#1 SMP PREEMPT_DYNAMIC Wed Mar  6 19:34:57 UTC 2024", ArchAarch64,
			"falco_amazonlinux2023_6.1.79-99.164.amzn2023.aarch64_1.ko", false},
		{"amazon linux 1", OS{ID: "amzn", VersionID: "2018.03"}, "4.14.355-196.644.amzn1.x86_64", "#1 SMP Fri Jan 1 00:00:00 UTC 2021", ArchX86_64,
			"falco_amazonlinux_4.14.355-196.644.amzn1.x86_64_1.ko", false},
		{"cos", OS{ID: "cos", BuildID: "17800.66.78"}, "6.1.58+", "#1 SMP PREEMPT_DYNAMIC Sat Oct 28 14:12:24 UTC 2023", ArchX86_64,
			"falco_cos_6.1.58+_1.ko", true},
		{"flatcar", OS{ID: "flatcar", VersionID: "3975.2.2"}, "6.6.54-flatcar", "#1 SMP PREEMPT_DYNAMIC Mon Oct  7 22:49:14 -00 2024", ArchX86_64,
			"falco_flatcar_3975.2.2_1.ko", false},
		{"flatcar arm64", OS{ID: "flatcar", VersionID: "3815.2.5"}, "6.1.96-flatcar", "#1 SMP PREEMPT Mon Jul  1 23:29:55 -00 2024", ArchAarch64,
			"falco_flatcar_3815.2.5_1.ko", false},
		{"minikube", OS{ID: "buildroot", VersionID: "2023.02.9", Minikube: "v1.34.0-1726481311-19649"}, "5.10.207", "#1 SMP Mon Sep 16 15:00:28 UTC 2024", ArchX86_64,
			"falco_minikube_5.10.207_1_1.34.0.ko", false},
		{"minikube old", OS{ID: "buildroot", Minikube: "v1.26.0-1655407986-14197"}, "5.10.57", "#1 SMP Thu Jun 16 21:01:29 UTC 2022", ArchX86_64,
			"falco_minikube_5.10.57_1_1.26.0.ko", false},
		{"bottlerocket", OS{ID: "bottlerocket", VersionID: "1.22.0", VariantID: "aws-k8s-1.30"}, "6.1.106", "#1 SMP PREEMPT_DYNAMIC Fri Aug 30 20:16:18 UTC 2024", ArchAarch64,
			"falco_bottlerocket_6.1.106_1_1.22.0-aws.ko", false},
		{"bottlerocket vmware", OS{ID: "bottlerocket", VersionID: "1.19.2", VariantID: "vmware-k8s-1.28"}, "5.15.148", "#1 SMP Tue Feb 13 00:00:00 UTC 2024", ArchX86_64,
			"falco_bottlerocket_5.15.148_1_1.19.2-vmware.ko", false},
		{"talos", OS{ID: "talos", VersionID: "v1.7.6"}, "6.6.43-talos", "#1 SMP Mon Jul 29 12:57:34 UTC 2024", ArchX86_64,
			"falco_talos_6.6.43-talos_1_v1.7.6.ko", false},
		{"centos", OS{ID: "centos", VersionID: "7"}, "3.10.0-957.12.2.el7.x86_64", "#1 SMP Tue May 14 21:24:32 UTC 2019", ArchX86_64,
			"falco_centos_3.10.0-957.12.2.el7.x86_64_1.ko", false},
		{"centos legacy file", OS{Fallback: "centos"}, "3.10.0-957.12.2.el7.aarch64", "#1 SMP Tue May 14 22:05:45 UTC 2019", ArchAarch64,
			"falco_centos_3.10.0-957.12.2.el7.aarch64_1.ko", false},
		{"rhel", OS{ID: "rhel", VersionID: "9.4"}, "5.14.0-427.13.1.el9_4.x86_64", "#1 SMP PREEMPT_DYNAMIC Wed Apr 10 10:29:16 EDT 2024", ArchX86_64,
			"falco_rhel_5.14.0-427.13.1.el9_4.x86_64_1.ko", false},
		{"oracle uek", OS{ID: "ol", VersionID: "8.10"}, "5.15.0-209.161.7.2.el8uek.x86_64", "#2 SMP Tue Jul 16 10:39:18 PDT 2024", ArchX86_64,
			"falco_ol_5.15.0-209.161.7.2.el8uek.x86_64_2.ko", true},
		{"oracle rhck", OS{ID: "ol", VersionID: "8.10"}, "4.18.0-553.el8_10.x86_64", "#1 SMP Fri May 10 15:19:13 PDT 2024", ArchX86_64,
			"falco_ol_4.18.0-553.el8_10.x86_64_1.ko", false},
		{"arch (any other ID)", OS{ID: "arch"}, "6.6.7-arch1-1", "#1 SMP PREEMPT_DYNAMIC Thu, 14 Dec 2023 03:45:42 +0000", ArchX86_64,
			"falco_arch_6.6.7-arch1-1_1.ko", false},
		{"undetermined", OS{}, "6.1.0", "#1 SMP", ArchX86_64,
			"falco_undetermined_6.1.0_1.ko", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := Parse(tt.release)
			if err != nil {
				t.Fatal(err)
			}
			tg := NewTarget(tt.os, kr, ParseVersion(tt.version), tt.arch)
			kmod := tg.Artifact("falco", "8.1.0+driver", KindKmod)
			if got := kmod.FileName(); got != tt.kmod {
				t.Errorf("kmod file = %q, want %q (notes: %s)", got, tt.kmod, strings.Join(tg.Notes, "; "))
			}
			ebpf := tg.Artifact("falco", "8.1.0+driver", KindEBPF)
			if got, want := ebpf.FileName(), strings.TrimSuffix(tt.kmod, ".ko")+".o"; got != want {
				t.Errorf("ebpf file = %q, want %q", got, want)
			}
			if (tg.KmodVeto != "") != tt.veto {
				t.Errorf("kmod veto = %q, want vetoed %v", tg.KmodVeto, tt.veto)
			}
			if tg.Arch != tt.arch || kmod.Arch != string(tt.arch) {
				t.Errorf("arch = %q / %q, want %q", tg.Arch, kmod.Arch, tt.arch)
			}
			if len(tg.Notes) == 0 {
				t.Error("no note says how the target was derived")
			}
		})
	}
}

// TestTargetOddInput: nothing odd panics or loses the raw strings, and
// the notes say why names may not match anything published.
func TestTargetOddInput(t *testing.T) {
	tests := []struct {
		name     string
		os       OS
		release  string
		version  string
		wantID   string
		wantRel  string
		wantVer  string
		wantNote string
	}{
		{"flatcar bad VERSION_ID", OS{ID: "flatcar", VersionID: "3975.2"}, "6.6.54-flatcar", "#1 SMP", "flatcar", "6.6.54-flatcar", "1", "not major.minor.patch"},
		{"flatcar leading zero", OS{ID: "flatcar", VersionID: "3975.02.2"}, "6.6.54-flatcar", "#1 SMP", "flatcar", "6.6.54-flatcar", "1", "not major.minor.patch"},
		{"cos without BUILD_ID", OS{ID: "cos"}, "5.15.146+", "#1 SMP", "cos", "5.15.146+", "1", "BUILD_ID"},
		{"bottlerocket without variant", OS{ID: "bottlerocket", VersionID: "1.22.0"}, "6.1.106", "#1 SMP", "bottlerocket", "6.1.106", "1_1.22.0-", "VARIANT_ID"},
		{"talos without VERSION_ID", OS{ID: "talos"}, "6.6.43-talos", "#1 SMP", "talos", "6.6.43-talos", "1_", "VERSION_ID"},
		{"minikube VERSION without semver", OS{ID: "buildroot", Minikube: "garbage"}, "5.10.57", "#1 SMP", "buildroot", "5.10.57", "1", "os-release ID"},
		{"nonsense release", OS{ID: "debian"}, "not-a-kernel", "#1 SMP", "debian", "not-a-kernel", "1", "os-release ID"},
		{"empty version", OS{ID: "ubuntu"}, "6.8.0-45-generic", "", "ubuntu-generic", "6.8.0-45-generic", "", "--kernel-version"},
		{"no os at all", OS{}, "6.1.0", "#1", Undetermined, "6.1.0", "1", "undetermined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, _ := Parse(tt.release)
			tg := NewTarget(tt.os, kr, ParseVersion(tt.version), ArchX86_64)
			if tg.ID != tt.wantID || tg.FixedRelease != tt.wantRel || tg.FixedVersion != tt.wantVer {
				t.Errorf("target = %q %q %q, want %q %q %q", tg.ID, tg.FixedRelease, tg.FixedVersion, tt.wantID, tt.wantRel, tt.wantVer)
			}
			if !strings.Contains(strings.Join(tg.Notes, "\n"), tt.wantNote) {
				t.Errorf("notes %q do not mention %q", tg.Notes, tt.wantNote)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	good := NewTarget(OS{ID: "ubuntu"}, MustParse("6.8.0-45-generic"), ParseVersion("#45~22.04.1-Ubuntu SMP"), ArchX86_64)
	if err := good.Validate(); err != nil {
		t.Errorf("valid target: %v", err)
	}
	tests := []struct {
		name    string
		os      OS
		release string
		version string
		want    string
	}{
		{"empty version", OS{ID: "debian"}, "6.1.0-13-amd64", "", "kernel version is empty"},
		{"slash in release", OS{ID: "debian"}, "6.1.0/../../x", "#1", "slash"},
		{"space in version override", OS{ID: "talos", VersionID: "v1 2"}, "6.6.43-talos", "#1", "kernel version"},
		{"dot dot", OS{ID: "arch"}, "..", "#1", `".."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, _ := Parse(tt.release)
			err := NewTarget(tt.os, kr, ParseVersion(tt.version), ArchX86_64).Validate()
			if !errors.Is(err, ErrName) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want ErrName mentioning %q", err, tt.want)
			}
		})
	}
	// An os-release ID outside os-release(5)'s charset never becomes a path.
	tg := NewTarget(OS{ID: "../../etc"}, MustParse("6.1.0"), ParseVersion("#1"), ArchX86_64)
	if tg.ID != Undetermined || !strings.Contains(tg.Notes[0], "a-z 0-9") {
		t.Errorf("bad ID gave target %q, notes %q", tg.ID, tg.Notes)
	}
}
