package artifacts

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackFile starts the kernel's writeback every few megabytes, so the
// fsync at the end has little left to wait for.
type writebackFile struct {
	f       *os.File
	off     int64
	flushed int64
}

const writebackEvery = 8 << 20

func (w *writebackFile) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.flushed >= writebackEvery {
		// Best effort: an error here only means the final fsync does the work.
		_ = unix.SyncFileRange(int(w.f.Fd()), w.flushed, w.off-w.flushed, unix.SYNC_FILE_RANGE_WRITE)
		w.flushed = w.off
	}
	return n, err
}
