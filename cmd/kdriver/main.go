// Command kdriver gets a syscall-capture driver running on a Linux host and
// proves that it works; it also builds and publishes drivers. Run under the
// name falco-driver-loader it accepts that command's legacy interface.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
