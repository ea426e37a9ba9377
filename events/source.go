package events

import "context"

// Source is one driver's stream of events.
//
// Next blocks until an event arrives, ctx is done (returning ctx.Err()), or
// the source is closed (returning ErrClosed). A source that has events
// waiting may return them without looking at ctx, so a loop over Next
// checks ctx itself.
//
// The returned event is borrowed: it and its byte slices stay valid until
// the next call to Next, which may reuse them; Event.Clone what must live
// longer. It never points into memory that Close frees (a driver's mapped
// buffers), so reading it after Close is safe. A goroutine that calls Next
// is joined before Close.
type Source interface {
	Next(ctx context.Context) (*Event, error)
	// Stats reports what the driver produced and dropped so far.
	Stats() (Stats, error)
	Close() error
}

// Stats counts events seen by the driver, per CPU where it keeps them.
type Stats struct {
	Events uint64 `json:"events"`
	Drops  uint64 `json:"drops"`
	// Lost counts events written with part of their meaning lost: the
	// modern probe's exec exits whose entry it had not recorded, typed by
	// their syscall number (a successful execveat then reads execve_x).
	Lost   uint64     `json:"lost,omitempty"`
	PerCPU []CPUStats `json:"per_cpu,omitempty"`
}

// CPUStats is one CPU's share of Stats.
type CPUStats struct {
	CPU    int    `json:"cpu"`
	Events uint64 `json:"events"`
	Drops  uint64 `json:"drops"`
	Lost   uint64 `json:"lost,omitempty"`
}
