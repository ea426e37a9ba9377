package events

// These mirror events/c/kd_event.h; TestHeaderConstants keeps them in step.
const (
	APIVersionMajor = 1
	APIVersionMinor = 0
	SchemaVersion   = 1

	CommLen     = 16
	HeaderLen   = 48
	MaxEventLen = 16384
	MaxParams   = 8
)

// Header flags.
const (
	FlagTruncated  = 1 << 0
	FlagParamFault = 1 << 1
)

// Type is an event type (enum kd_event_type).
type Type uint16

const (
	TypeUnknown    Type = 0
	TypeExecveE    Type = 1
	TypeExecveX    Type = 2
	TypeExecveatE  Type = 3
	TypeExecveatX  Type = 4
	TypeOpenX      Type = 5
	TypeOpenatX    Type = 6
	TypeOpenat2X   Type = 7
	TypeConnectX   Type = 8
	TypeAcceptX    Type = 9
	TypeAccept4X   Type = 10
	TypeCloneX     Type = 11
	TypeClone3X    Type = 12
	TypeForkX      Type = 13
	TypeVforkX     Type = 14
	TypeCloseX     Type = 15
	TypeUnlinkatX  Type = 16
	TypeRenameat2X Type = 17
	TypeProcExit   Type = 18
	typeMax        Type = 19
)

// Kind is how a parameter's bytes are encoded.
type Kind uint8

const (
	KindS64      Kind = iota + 1 // 8 bytes, little-endian, signed
	KindU64                      // 8 bytes, little-endian
	KindStr                      // bytes with the terminating NUL; empty: unavailable
	KindArgs                     // NUL-separated strings, as /proc/PID/cmdline
	KindSockaddr                 // raw struct sockaddr, family first
)

// Param names one parameter of an event type.
type Param struct {
	Name string
	Kind Kind
}

// Info describes an event type: its name, the syscall it reports, whether
// it is taken at entry, and its parameters in wire order.
type Info struct {
	Name    string
	Syscall string
	Enter   bool
	Params  []Param
}

var (
	pRes      = Param{"res", KindS64}
	pFd       = Param{"fd", KindS64}
	pDirfd    = Param{"dirfd", KindS64}
	pFlags    = Param{"flags", KindU64}
	pPath     = Param{"path", KindStr}
	pFilename = Param{"filename", KindStr}
	pArgv     = Param{"argv", KindArgs}
	pAddr     = Param{"addr", KindSockaddr}

	openParams   = []Param{pRes, pDirfd, pPath, pFlags, {"mode", KindU64}}
	acceptParams = []Param{pRes, pFd, pAddr, pFlags}
	cloneParams  = []Param{pRes, pFlags}
)

// table is indexed by Type. It is read-only after package initialisation.
var table = [typeMax]Info{
	TypeExecveE:    {"execve_e", "execve", true, []Param{pFilename, pArgv}},
	TypeExecveX:    {"execve_x", "execve", false, []Param{pRes}},
	TypeExecveatE:  {"execveat_e", "execveat", true, []Param{pDirfd, pFilename, pArgv, pFlags}},
	TypeExecveatX:  {"execveat_x", "execveat", false, []Param{pRes}},
	TypeOpenX:      {"open_x", "open", false, openParams},
	TypeOpenatX:    {"openat_x", "openat", false, openParams},
	TypeOpenat2X:   {"openat2_x", "openat2", false, openParams},
	TypeConnectX:   {"connect_x", "connect", false, []Param{pRes, pFd, pAddr}},
	TypeAcceptX:    {"accept_x", "accept", false, acceptParams},
	TypeAccept4X:   {"accept4_x", "accept4", false, acceptParams},
	TypeCloneX:     {"clone_x", "clone", false, cloneParams},
	TypeClone3X:    {"clone3_x", "clone3", false, cloneParams},
	TypeForkX:      {"fork_x", "fork", false, cloneParams},
	TypeVforkX:     {"vfork_x", "vfork", false, cloneParams},
	TypeCloseX:     {"close_x", "close", false, []Param{pRes, pFd}},
	TypeUnlinkatX:  {"unlinkat_x", "unlinkat", false, []Param{pRes, pDirfd, pPath, pFlags}},
	TypeRenameat2X: {"renameat2_x", "renameat2", false, []Param{pRes, {"olddirfd", KindS64}, {"oldpath", KindStr}, {"newdirfd", KindS64}, {"newpath", KindStr}, pFlags}},
	TypeProcExit:   {"procexit", "", false, []Param{{"status", KindS64}, {"exit_code", KindS64}, {"signal", KindS64}}},
}

// Lookup returns the description of t, or false for an unknown type.
func (t Type) Lookup() (Info, bool) {
	if t == TypeUnknown || t >= typeMax {
		return Info{}, false
	}
	return table[t], true
}

func (t Type) String() string {
	if info, ok := t.Lookup(); ok {
		return info.Name
	}
	return "unknown"
}

// Types lists every known event type in numeric order.
func Types() []Type {
	ts := make([]Type, 0, typeMax-1)
	for t := Type(1); t < typeMax; t++ {
		ts = append(ts, t)
	}
	return ts
}

// ParseType maps an event type name ("openat_x") or a syscall name
// ("openat", meaning all its types) to types.
func ParseType(name string) []Type {
	if name == "" {
		return nil // process exit has no syscall name
	}
	var out []Type
	for _, t := range Types() {
		info := table[t]
		if info.Name == name || info.Syscall == name {
			out = append(out, t)
		}
	}
	return out
}
