package kmod

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Real modules from scripts/vmtest builds (debug info stripped).
var realModules = []struct {
	file, arch, release string
}{
	{"kdriver-6.1.0-56-amd64.ko", "x86_64", "6.1.0-56-amd64"},
	{"kdriver-6.1.0-56-arm64.ko", "aarch64", "6.1.0-56-arm64"},
}

func TestInspectRealModules(t *testing.T) {
	for _, m := range realModules {
		t.Run(m.file, func(t *testing.T) {
			info, err := InspectFile(filepath.Join("testdata", m.file))
			if err != nil {
				t.Fatal(err)
			}
			if info.Arch != m.arch || info.Release != m.release || info.Name != ModuleName {
				t.Fatalf("got arch %s release %s name %s, want %s %s %s",
					info.Arch, info.Release, info.Name, m.arch, m.release, ModuleName)
			}
			if info.ModInfo["api_version"] != "1.0" || info.ModInfo["schema_version"] != "1" {
				t.Fatalf("modinfo api_version %q schema_version %q, want 1.0 and 1",
					info.ModInfo["api_version"], info.ModInfo["schema_version"])
			}
			if _, err := Preflight(filepath.Join("testdata", m.file), Want{Arch: m.arch, KernelRelease: m.release, Name: ModuleName}); err != nil {
				t.Fatalf("preflight against its own target: %v", err)
			}
		})
	}
}

func TestPreflightMismatch(t *testing.T) {
	amd := filepath.Join("testdata", realModules[0].file)
	arm := filepath.Join("testdata", realModules[1].file)
	for _, tc := range []struct {
		name   string
		file   string
		want   Want
		err    error
		inText []string
	}{
		{"other arch", amd, Want{Arch: "arm64", KernelRelease: "6.1.0-56-amd64"}, ErrWrongArch, []string{"arch x86_64", "aarch64"}},
		{"other arch arm", arm, Want{Arch: "amd64"}, ErrWrongArch, []string{"arch aarch64", "x86_64"}},
		{"other release", amd, Want{Arch: "x86_64", KernelRelease: "6.1.0-55-amd64"}, ErrWrongKernel, []string{"6.1.0-56-amd64", "6.1.0-55-amd64"}},
		{"other flavour", amd, Want{KernelRelease: "6.1.0-56-cloud-amd64"}, ErrWrongKernel, []string{"6.1.0-56-cloud-amd64"}},
		{"other name", amd, Want{Name: "falco"}, ErrWrongName, []string{"kdriver", "falco"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Preflight(tc.file, tc.want)
			if !errors.Is(err, tc.err) {
				t.Fatalf("got %v, want %v", err, tc.err)
			}
			for _, s := range append(tc.inText, filepath.Base(tc.file)) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
		})
	}
}

func TestInspectTruncated(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", realModules[0].file))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 10, 63, 64, 1000, len(b) / 2, len(b) - 1} {
		_, err := Inspect("cut.ko", bytes.NewReader(b[:n]), int64(n))
		if !errors.Is(err, ErrModuleFormat) {
			t.Errorf("cut at %d of %d bytes: got %v, want ErrModuleFormat", n, len(b), err)
		}
	}
}

// craft builds a minimal 64-bit little-endian ELF with a .modinfo section.
func craft(typ elf.Type, machine elf.Machine, modinfo string) []byte {
	shstr := []byte("\x00.modinfo\x00.shstrtab\x00")
	var b bytes.Buffer
	le := binary.LittleEndian
	dataOff := 64
	strOff := dataOff + len(modinfo)
	shOff := (strOff + len(shstr) + 7) &^ 7
	hdr := elf.Header64{
		Type: uint16(typ), Machine: uint16(machine), Version: 1,
		Shoff: uint64(shOff), Ehsize: 64, Shentsize: 64, Shnum: 3, Shstrndx: 2,
	}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	hdr.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	hdr.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	_ = binary.Write(&b, le, hdr)
	b.WriteString(modinfo)
	b.Write(shstr)
	b.Write(make([]byte, shOff-b.Len()))
	_ = binary.Write(&b, le, elf.Section64{})
	_ = binary.Write(&b, le, elf.Section64{Name: 1, Type: uint32(elf.SHT_PROGBITS), Off: uint64(dataOff), Size: uint64(len(modinfo)), Addralign: 1})
	_ = binary.Write(&b, le, elf.Section64{Name: 10, Type: uint32(elf.SHT_STRTAB), Off: uint64(strOff), Size: uint64(len(shstr)), Addralign: 1})
	return b.Bytes()
}

func TestInspectCrafted(t *testing.T) {
	good := "name=kdriver\x00vermagic=6.12.117+deb12-amd64 SMP preempt mod_unload modversions \x00version=1.2.3\x00"
	class32 := craft(elf.ET_REL, elf.EM_X86_64, good)
	class32[elf.EI_CLASS] = byte(elf.ELFCLASS32)
	for _, tc := range []struct {
		name string
		b    []byte
		err  error
		arch string
	}{
		{"x86_64", craft(elf.ET_REL, elf.EM_X86_64, good), nil, "x86_64"},
		{"aarch64", craft(elf.ET_REL, elf.EM_AARCH64, good), nil, "aarch64"},
		{"other machine", craft(elf.ET_REL, elf.EM_RISCV, good), nil, "RISCV"},
		{"executable", craft(elf.ET_EXEC, elf.EM_X86_64, good), ErrModuleFormat, ""},
		{"32-bit", class32, ErrModuleFormat, ""},
		{"no vermagic", craft(elf.ET_REL, elf.EM_X86_64, "name=kdriver\x00"), ErrModuleFormat, ""},
		{"not ELF", []byte("#!/bin/sh\necho hello\n"), ErrModuleFormat, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Inspect("x.ko", bytes.NewReader(tc.b), int64(len(tc.b)))
			if !errors.Is(err, tc.err) {
				t.Fatalf("got %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if info.Arch != tc.arch || info.Release != "6.12.117+deb12-amd64" || info.Name != "kdriver" || info.Version != "1.2.3" {
				t.Fatalf("got %+v", info)
			}
		})
	}
	info, _ := Inspect("x.ko", bytes.NewReader(craft(elf.ET_REL, elf.EM_RISCV, good)), 1<<20)
	if err := info.Check("x.ko", Want{Arch: "x86_64"}); !errors.Is(err, ErrWrongArch) {
		t.Fatalf("riscv module against x86_64: %v", err)
	}
}

func TestInspectNameFallback(t *testing.T) {
	b := craft(elf.ET_REL, elf.EM_X86_64, "vermagic=5.10.0-46-amd64 SMP mod_unload modversions \x00")
	info, err := Inspect("my-driver.ko", bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "my_driver" {
		t.Fatalf("name %q, want my_driver (kbuild's name for my-driver.ko)", info.Name)
	}
}

func FuzzInspect(f *testing.F) {
	f.Add(craft(elf.ET_REL, elf.EM_X86_64, "name=kdriver\x00vermagic=6.1.0 SMP\x00"))
	if b, err := os.ReadFile(filepath.Join("testdata", realModules[1].file)); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := Inspect("fuzz.ko", bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrModuleFormat) {
				t.Fatalf("error does not wrap ErrModuleFormat: %v", err)
			}
			return
		}
		if info.Release == "" || info.Name == "" {
			t.Fatalf("accepted without release or name: %+v", info)
		}
	})
}
