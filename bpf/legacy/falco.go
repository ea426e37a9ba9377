package legacy

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kdriver/kdriver/scap"
)

// ErrNotFalcoProbe is returned by InspectFalco for a file that is not a
// falcosecurity/libs legacy probe.
var ErrNotFalcoProbe = errors.New("not a Falco eBPF probe")

// FalcoInfo is what a falcosecurity/libs probe (driver/bpf/probe.c)
// records in its sections: the kernel release it was built for
// (kernel_version, UTS_RELEASE), the driver version (probe_version) and the
// event API and schema versions (api_version, schema_version: u64 in libs'
// PPM_API_VERSION encoding, read by scap.Version).
type FalcoInfo struct {
	KernelRelease string `json:"kernel_release"`
	DriverVersion string `json:"driver_version"`
	API           string `json:"api_version"`
	Schema        string `json:"schema_version"`
}

// InspectFalco checks a Falco probe object without loading it: ELF
// machine BPF, little endian, relocatable, complete, with its version
// sections. Falco loads it; kdriver only places it.
func InspectFalco(file string, r io.ReaderAt, size int64) (*FalcoInfo, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w: %s", file, ErrNotFalcoProbe, fmt.Sprintf(format, args...))
	}
	f, err := elf.NewFile(io.NewSectionReader(r, 0, size))
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, bad("ELF truncated: %d bytes end inside its headers (%v)", size, err)
	}
	if err != nil {
		return nil, bad("ELF: %v", err)
	}
	switch {
	case f.Machine != elf.EM_BPF:
		return nil, bad("ELF machine %s, want BPF", f.Machine)
	case f.Data != elf.ELFDATA2LSB:
		return nil, bad("ELF data %s, want little endian", f.Data)
	case f.Type != elf.ET_REL:
		return nil, bad("ELF type %s, want a relocatable object", f.Type)
	}
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOBITS && s.Type != elf.SHT_NULL && s.Offset+s.Size > uint64(size) {
			return nil, bad("section %s ends at byte %d, file has %d (truncated)", s.Name, s.Offset+s.Size, size)
		}
	}
	info := &FalcoInfo{}
	for _, x := range []struct {
		sec string
		dst *string
	}{{"kernel_version", &info.KernelRelease}, {"probe_version", &info.DriverVersion}} {
		b, err := sectionData(f, x.sec)
		if err != nil {
			return nil, bad("%v", err)
		}
		*x.dst, _, _ = strings.Cut(string(b), "\x00")
	}
	for _, x := range []struct {
		sec string
		dst *string
	}{{"api_version", &info.API}, {"schema_version", &info.Schema}} {
		b, err := sectionData(f, x.sec)
		if err != nil {
			return nil, bad("%v", err)
		}
		if len(b) != 8 {
			return nil, bad("section %s has %d bytes, want 8", x.sec, len(b))
		}
		*x.dst = scap.Version(binary.LittleEndian.Uint64(b)).String()
	}
	if info.KernelRelease == "" {
		return nil, bad("no kernel release in section kernel_version")
	}
	return info, nil
}

// Check compares the recorded release with the host's.
func (i *FalcoInfo) Check(file, release string) error {
	if release != "" && i.KernelRelease != release {
		return &MismatchError{File: file, Field: "kernel release", Got: i.KernelRelease, Want: release}
	}
	return nil
}
