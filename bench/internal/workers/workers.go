// Package workers runs a benchmark's workload children: the benchmark's own
// binary again, as "workload N" (each program answers that argument by
// making its N syscalls and exiting).
package workers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// Run starts w children of n syscalls each at once and waits for them: the
// wall time of the batch and the CPU time (user and system) of all children.
func Run(ctx context.Context, w, n int) (wall, cpu time.Duration, err error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	cmds := make([]*exec.Cmd, w)
	for i := range cmds {
		cmds[i] = exec.CommandContext(ctx, exe, "workload", strconv.Itoa(n))
		cmds[i].Stderr = os.Stderr
	}
	start := time.Now()
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			return 0, 0, err
		}
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			return 0, 0, fmt.Errorf("workload: %w", err)
		}
		cpu += c.ProcessState.UserTime() + c.ProcessState.SystemTime()
	}
	return time.Since(start), cpu, nil
}
