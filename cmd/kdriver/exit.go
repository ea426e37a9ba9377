package main

import (
	"context"
	"errors"

	"github.com/kdriver/kdriver/events"
	"github.com/kdriver/kdriver/loader"
	"github.com/kdriver/kdriver/scap"
)

// Exit codes of CLI.md.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitNoArtifact  = 3
	exitUnsupported = 4
	exitVerify      = 5
	exitInterrupted = 130
)

// errUsage marks command line mistakes (exit 2).
var errUsage = errors.New("usage")

// usageError wraps a message as a usage error.
type usageError struct{ msg string }

func (e usageError) Error() string        { return e.msg }
func (e usageError) Is(target error) bool { return target == errUsage }

// errInterrupted is a run cut short by SIGINT or SIGTERM (exit 130).
var errInterrupted = errors.New("interrupted")

// exitCode is the one place that maps errors to exit codes.
func exitCode(err error) int {
	var traced tracedExit
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errInterrupted), errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &traced):
		return traced.code
	case errors.Is(err, errUsage):
		return exitUsage
	case errors.Is(err, loader.ErrNoArtifact):
		return exitNoArtifact
	case errors.Is(err, loader.ErrUnsupported), errors.Is(err, scap.ErrUnsupported):
		return exitUnsupported
	case errors.Is(err, events.ErrVerify):
		return exitVerify
	default:
		return exitError
	}
}
