package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// An interrupt at any point of a run is exit 130, never the exit code of
// what failed because of it: a self-test cut short is not "verification
// failed" (5). The interrupt comes at several points of verify's phases
// (detection, preflight, the self-test); a run that ended before it may
// exit 0. Exit 0 is also right when the interrupt lands while a finished
// run is returning (its report is whole: "verify: passed"), so an interrupt
// within raceWindow of the end may see either, but never anything else.
func TestInterruptedIsExit130(t *testing.T) {
	const raceWindow = 100 * time.Millisecond
	for _, after := range []time.Duration{20, 60, 120, 200, 300, 450, 600, 800} {
		after *= time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		fired := make(chan time.Time, 1)
		// Cancel first, then take the time: under load the timer goroutine
		// may be descheduled between the two, and a time taken before the
		// cancel would claim an interrupt the run never saw.
		timer := time.AfterFunc(after, func() { cancel(); fired <- time.Now() })
		var stdout, stderr bytes.Buffer
		code := run(ctx, []string{"kdriver", "verify", "--type", "userspace"}, &stdout, &stderr)
		ended := time.Now()
		timer.Stop()
		cancel()
		select {
		case at := <-fired:
			finished := code == exitOK && strings.Contains(stdout.String(), "verify: passed") && ended.Sub(at) < raceWindow
			if at.Before(ended) && code != exitInterrupted && !finished {
				t.Errorf("interrupted after %v: exit %d, want 130; stderr:\n%s", after, code, stderr.String())
			}
			if code == exitInterrupted && !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("interrupted after %v: stderr does not say so:\n%s", after, stderr.String())
			}
		default:
			if code != exitOK {
				t.Errorf("run ended before the interrupt: exit %d; stderr:\n%s", code, stderr.String())
			}
		}
	}
}
