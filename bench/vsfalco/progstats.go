package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// The entry points whose run time -progstats reports: kdriver's programs,
// and Falco's dispatchers (the kernel counts a tail-called program's time
// in the program that was attached, so sys_exit includes close_x).
var statPrograms = map[string]string{
	"kd_sys_enter_btf":   "kdriver",
	"kd_sys_exit_btf":    "kdriver",
	"kd_proc_exit_btf":   "kdriver",
	"kd_execve_fentry":   "kdriver",
	"kd_execveat_fentry": "kdriver",
	"sys_enter":          "Falco",
	"sys_exit":           "Falco",
	"sched_proc_exit":    "Falco",
	"sched_p_exec":       "Falco",
}

// progRun is what the kernel counted for one program (BPF_ENABLE_STATS).
type progRun struct {
	runs uint64
	time time.Duration
}

// enableProgStats turns the kernel's BPF run-time statistics on until the
// closer is closed. They cost two clock reads per program run, which the
// workload's CPU time then includes: a -progstats run measures where the
// time goes, not the overhead.
func enableProgStats() (io.Closer, error) {
	c, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		return nil, fmt.Errorf("BPF run-time statistics: %w", err)
	}
	return c, nil
}

// progSnapshot reads the counters of the loaded programs of statPrograms.
func progSnapshot() (map[string]progRun, error) {
	out := map[string]progRun{}
	var id ebpf.ProgramID
	for {
		next, err := ebpf.ProgramGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("program IDs: %w", err)
		}
		id = next
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue // unloaded meanwhile
		}
		info, err := p.Info()
		if err == nil && statPrograms[info.Name] != "" {
			if st, err := p.Stats(); err == nil {
				r := out[info.Name]
				r.runs += st.RunCount
				r.time += st.Runtime
				out[info.Name] = r
			}
		}
		p.Close()
	}
}

// progDelta is after - before, per program.
func progDelta(before, after map[string]progRun) map[string]progRun {
	d := map[string]progRun{}
	for name, a := range after {
		b := before[name]
		if a.runs > b.runs {
			d[name] = progRun{a.runs - b.runs, a.time - b.time}
		}
	}
	return d
}

// progSample is one round's count for one program.
type progSample struct {
	perOp    float64 // runs per workload operation
	nsPerRun float64
}

// progRows returns one markdown row per program of a probe: runs per
// workload operation and ns per run (median and fastest round).
func progRows(wl string, w int, s *series) []string {
	names := make([]string, 0, len(s.progs))
	for name := range s.progs {
		names = append(names, name)
	}
	slices.Sort(names)
	var rows []string
	for _, name := range names {
		var perOp, ns []float64
		for _, p := range s.progs[name] {
			perOp = append(perOp, p.perOp)
			ns = append(ns, p.nsPerRun)
		}
		rows = append(rows, fmt.Sprintf("| %s | %d | %s | %s | %.2f | %.0f | %.0f |", wl, w, s.name, name, median(perOp), median(ns), minimum(ns)))
	}
	return rows
}
