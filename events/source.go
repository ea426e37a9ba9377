package events

import "context"

// Source is one driver's stream of events.
//
// Next blocks until an event arrives, ctx is done (returning ctx.Err()), or
// the source is closed (returning ErrClosed). The returned event's byte
// slices may be reused by the next call; copy what must outlive it.
type Source interface {
	Next(ctx context.Context) (*Event, error)
	// Stats reports what the driver produced and dropped so far.
	Stats() (Stats, error)
	Close() error
}

// Stats counts events seen by the driver, per CPU where it keeps them.
type Stats struct {
	Events uint64     `json:"events"`
	Drops  uint64     `json:"drops"`
	PerCPU []CPUStats `json:"per_cpu,omitempty"`
}

// CPUStats is one CPU's share of Stats.
type CPUStats struct {
	CPU    int    `json:"cpu"`
	Events uint64 `json:"events"`
	Drops  uint64 `json:"drops"`
}
