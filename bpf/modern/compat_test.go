//go:build vmguest

// The compat test runs only in the qemu guests of bpf/modern/vmtest (case
// gotest, a test binary built with -tags vmguest): this host's kernel has
// 32-bit emulation switched off at boot, which no set-up step can change,
// and a host run must not skip it.

package modern

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/internal/testenv"
)

// elf32 is a static 32-bit little-endian executable: the headers, then
// code, loaded at 0x08048000 with its entry right after the headers.
func elf32(machine elf.Machine, flags uint32, code []byte) []byte {
	const base, ehsize, phsize = 0x08048000, 52, 32
	total := uint32(ehsize + phsize + len(code))
	var b bytes.Buffer
	b.Write([]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS32), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	b.Write(make([]byte, 9))
	for _, v := range []any{
		uint16(elf.ET_EXEC), uint16(machine), uint32(elf.EV_CURRENT),
		uint32(base + ehsize + phsize), uint32(ehsize), uint32(0), flags, // entry, phoff, shoff, flags
		uint16(ehsize), uint16(phsize), uint16(1), uint16(0), uint16(0), uint16(0),
		// the one program header: PT_LOAD of the whole file, read+exec
		uint32(elf.PT_LOAD), uint32(0), uint32(base), uint32(base), total, total,
		uint32(elf.PF_R | elf.PF_X), uint32(0x1000),
	} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.Write(code)
	return b.Bytes()
}

// compatProgram is a 32-bit program for the running arch that makes one
// compat syscall whose number is a captured 64-bit syscall's (close), then
// exits with code 7: ia32 read(0x5a5a, NULL, 0) is x86_64's number 3,
// AArch32 setpgid(0x5a, 0) arm64's number 57.
func compatProgram(t *testing.T) []byte {
	switch runtime.GOARCH {
	case "amd64":
		return elf32(elf.EM_386, 0, []byte{
			0xb8, 3, 0, 0, 0, // mov eax, 3 (read)
			0xbb, 0x5a, 0x5a, 0, 0, // mov ebx, 0x5a5a
			0x31, 0xc9, // xor ecx, ecx
			0x31, 0xd2, // xor edx, edx
			0xcd, 0x80, // int 0x80
			0xb8, 1, 0, 0, 0, // mov eax, 1 (exit)
			0xbb, 7, 0, 0, 0, // mov ebx, 7
			0xcd, 0x80, // int 0x80
		})
	case "arm64":
		var code []byte
		for _, insn := range []uint32{
			0xe3a0005a, // mov r0, #0x5a
			0xe3a01000, // mov r1, #0
			0xe3a07039, // mov r7, #57 (setpgid)
			0xef000000, // svc #0
			0xe3a00007, // mov r0, #7
			0xe3a07001, // mov r7, #1 (exit)
			0xef000000, // svc #0
		} {
			code = binary.LittleEndian.AppendUint32(code, insn)
		}
		return elf32(elf.EM_ARM, 0x05000000, code) // EABI version 5
	}
	t.Fatalf("no hand-made 32-bit program for %s: add one to compatProgram", runtime.GOARCH)
	return nil
}

// TestCompatSyscallsNotReported: a 32-bit program's syscalls are not
// decoded with the 64-bit table (an ia32 read is not a close_x), and the
// exec into it leaves no exec_pending entry behind.
func TestCompatSyscallsNotReported(t *testing.T) {
	testenv.RequireBPF(t)
	const comm = "kd-compat32"
	exe := filepath.Join(t.TempDir(), comm)
	if err := os.WriteFile(exe, compatProgram(t), 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := Open(Options{BufSizePreset: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got := make(chan *events.Event, 1<<12)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	defer func() { cancel(); <-done }()
	go func() {
		defer close(done)
		for {
			ev, err := src.Next(ctx)
			if err != nil {
				return
			}
			if ev.Comm == comm {
				select {
				case got <- ev.Clone():
				default:
				}
			}
		}
	}()

	cmd := exec.Command(exe)
	err = cmd.Run()
	if errors.Is(err, syscall.ENOEXEC) {
		t.Fatalf("32-bit programs do not run in this guest (%v): its kernel needs 32-bit emulation for this test", err)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("32-bit program: %v, want exit code 7", err)
	}
	pid := uint32(cmd.Process.Pid)
	deadline := time.After(10 * time.Second)
	for exited := false; !exited; {
		select {
		case ev := <-got:
			if ev.PID != pid {
				continue
			}
			switch ev.Type {
			case events.TypeProcExit:
				exited = true
				if ev.Int(1) != 7 {
					t.Errorf("procexit exit_code %d, want 7", ev.Int(1))
				}
			default:
				t.Errorf("a compat syscall reported as a 64-bit one: %s", events.AppendText(nil, ev))
			}
		case <-deadline:
			t.Fatalf("no procexit of the 32-bit program %d", pid)
		}
	}
	var v uint16
	if err := src.probe.maps.ExecPending.Lookup(pid, &v); err == nil {
		t.Errorf("exec_pending keeps an entry for %d after its exec into a 32-bit program and its exit", pid)
	}
}
