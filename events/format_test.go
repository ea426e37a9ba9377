package events

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// cHeader returns the numeric #defines and enum values of c/kd_event.h.
func cHeader(t *testing.T) map[string]int64 {
	t.Helper()
	src, err := os.ReadFile("c/kd_event.h")
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]int64{}
	def := regexp.MustCompile(`(?m)^#define\s+(KD_\w+)\s+\(?(\d+)U?`)
	for _, m := range def.FindAllStringSubmatch(string(src), -1) {
		v, _ := strconv.ParseInt(m[2], 10, 64)
		vals[m[1]] = v
	}
	flag := regexp.MustCompile(`(?m)^#define\s+(KD_EF_\w+)\s+\(1U << (\d+)\)`)
	for _, m := range flag.FindAllStringSubmatch(string(src), -1) {
		s, _ := strconv.Atoi(m[2])
		vals[m[1]] = 1 << s
	}
	enum := regexp.MustCompile(`(?m)^\s+(KD_EV_\w+)\s*=\s*(\d+),`)
	for _, m := range enum.FindAllStringSubmatch(string(src), -1) {
		v, _ := strconv.ParseInt(m[2], 10, 64)
		vals[m[1]] = v
	}
	return vals
}

// TestHeaderConstants keeps format.go in step with c/kd_event.h.
func TestHeaderConstants(t *testing.T) {
	h := cHeader(t)
	for name, want := range map[string]int64{
		"KD_API_VERSION_MAJOR": APIVersionMajor,
		"KD_API_VERSION_MINOR": APIVersionMinor,
		"KD_SCHEMA_VERSION":    SchemaVersion,
		"KD_COMM_LEN":          CommLen,
		"KD_HDR_LEN":           HeaderLen,
		"KD_MAX_EVENT_LEN":     MaxEventLen,
		"KD_MAX_PARAMS":        MaxParams,
		"KD_EF_TRUNCATED":      FlagTruncated,
		"KD_EF_PARAM_FAULT":    FlagParamFault,
		"KD_EV_MAX":            int64(typeMax),
	} {
		got, ok := h[name]
		if !ok {
			t.Errorf("%s not found in kd_event.h", name)
		} else if got != want {
			t.Errorf("%s = %d in kd_event.h, %d in Go", name, got, want)
		}
	}
	for _, typ := range Types() {
		cname := "KD_EV_" + strings.ToUpper(typ.String())
		if got, ok := h[cname]; !ok || got != int64(typ) {
			t.Errorf("%s: C %d (found %v), Go %d", cname, got, ok, typ)
		}
	}
	// Parameter counts: KD_NP_<TYPE> where the header defines one.
	np := map[string]Type{
		"EXECVE_E": TypeExecveE, "EXECVE_X": TypeExecveX, "EXECVEAT_E": TypeExecveatE,
		"EXECVEAT_X": TypeExecveatX, "OPEN_X": TypeOpenX, "CONNECT_X": TypeConnectX,
		"ACCEPT_X": TypeAcceptX, "CLONE_X": TypeCloneX, "CLOSE_X": TypeCloseX,
		"UNLINKAT_X": TypeUnlinkatX, "RENAMEAT2_X": TypeRenameat2X, "PROCEXIT": TypeProcExit,
	}
	for name, typ := range np {
		info, _ := typ.Lookup()
		if got := h["KD_NP_"+name]; got != int64(len(info.Params)) {
			t.Errorf("KD_NP_%s = %d, Go %s has %d params", name, got, typ, len(info.Params))
		}
		if len(info.Params) > MaxParams {
			t.Errorf("%s: %d params > KD_MAX_PARAMS", typ, len(info.Params))
		}
	}
}

func TestParseType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Type
	}{
		{"openat_x", []Type{TypeOpenatX}},
		{"openat", []Type{TypeOpenatX}},
		{"execve", []Type{TypeExecveE, TypeExecveX}},
		{"procexit", []Type{TypeProcExit}},
		{"nosuch", nil},
		{"", nil},
	} {
		got := ParseType(tc.in)
		if len(got) != len(tc.want) {
			t.Errorf("ParseType(%q) = %v, want %v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("ParseType(%q) = %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}
