package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kdriver/kdriver/events"
)

// listSource hands out a fixed list of events, then blocks until ctx ends.
type listSource struct {
	evs [][]byte
	i   int
	ev  events.Event
}

func (s *listSource) Next(ctx context.Context) (*events.Event, error) {
	if s.i < len(s.evs) {
		s.i++
		if len(s.evs[s.i-1]) == 0 {
			return nil, fmt.Errorf("cpu 0: %w: a torn event", events.ErrMalformed)
		}
		if _, err := events.DecodeInto(&s.ev, s.evs[s.i-1]); err != nil {
			return nil, err
		}
		return &s.ev, nil
	}
	<-ctx.Done()
	return nil, ctx.Err()
}
func (s *listSource) Stats() (events.Stats, error) {
	return events.Stats{Events: uint64(len(s.evs))}, nil
}
func (s *listSource) Close() error { return nil }

func sampleEvents() [][]byte {
	var out [][]byte
	var enc events.Encoder
	add := func(pid uint32, comm string, typ events.Type, build func(*events.EventBuilder)) {
		enc.Begin(uint64(len(out)), pid, pid, typ, 0, comm)
		build(enc.Params())
		out = append(out, bytes.Clone(enc.End()))
	}
	add(10, "sh", events.TypeOpenatX, func(b *events.EventBuilder) { b.Int(3).Int(-100).Str("/tmp/a", 4096).Int(0o1101).Int(0o644) })
	add(11, "cat", events.TypeOpenatX, func(b *events.EventBuilder) { b.Int(3).Int(-100).Str("/tmp/a", 4096).Int(0).Int(0) })
	add(10, "sh", events.TypeCloseX, func(b *events.EventBuilder) { b.Int(0).Int(3) })
	add(11, "cat", events.TypeProcExit, func(b *events.EventBuilder) { b.Int(0).Int(0).Int(0) })
	return out
}

func TestStreamEventsFilters(t *testing.T) {
	for _, tc := range []struct {
		name   string
		filter eventFilter
		want   []string // "pid type" of the printed events
	}{
		{"all", eventFilter{}, []string{"10 openat_x", "11 openat_x", "10 close_x", "11 procexit"}},
		{"pid", eventFilter{pids: []uint32{10}}, []string{"10 openat_x", "10 close_x"}},
		{"comm", eventFilter{comms: []string{"cat"}}, []string{"11 openat_x", "11 procexit"}},
		{"type", eventFilter{types: []events.Type{events.TypeOpenatX}}, []string{"10 openat_x", "11 openat_x"}},
		{"all-filters", eventFilter{pids: []uint32{11}, comms: []string{"cat"}, types: []events.Type{events.TypeOpenatX}}, []string{"11 openat_x"}},
		{"none", eventFilter{comms: []string{"nobody"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			var out bytes.Buffer
			printed, read, err := streamEvents(ctx, &listSource{evs: sampleEvents()}, &tc.filter, &out, true)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("streamEvents: %v", err)
			}
			if read != 4 || printed != uint64(len(tc.want)) {
				t.Fatalf("read %d printed %d, want 4 and %d", read, printed, len(tc.want))
			}
			var got []string
			dec := json.NewDecoder(&out)
			for dec.More() {
				var ev struct {
					PID  uint32 `json:"pid"`
					Type string `json:"type"`
				}
				if err := dec.Decode(&ev); err != nil {
					t.Fatal(err)
				}
				got = append(got, jsonKey(ev.PID, ev.Type))
			}
			if len(got) != len(tc.want) {
				t.Fatalf("printed %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("printed %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// A malformed event in the stream is skipped, the events after it are
// still printed, and the run fails at the end saying how many there were:
// a stream that silently lost events must not exit 0 after --duration.
func TestStreamEventsMalformedFailsTheRun(t *testing.T) {
	evs := sampleEvents()
	evs = append(evs[:2:2], append([][]byte{nil, nil}, evs[2:]...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	printed, read, err := streamEvents(ctx, &listSource{evs: evs}, &eventFilter{}, &out, false)
	if read != 4 || printed != 4 {
		t.Fatalf("read %d printed %d, want the 4 good events", read, printed)
	}
	if !errors.Is(err, events.ErrMalformed) || !strings.Contains(err.Error(), "2 malformed events") {
		t.Fatalf("err = %v, want the 2 malformed events counted", err)
	}
	if exitCode(err) == exitOK {
		t.Fatal("a stream with malformed events exits 0")
	}

	// Interrupted (^C) stays exit 130 even after a malformed event.
	ictx, icancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, icancel)
	_, _, err = streamEvents(ictx, &listSource{evs: [][]byte{nil}}, &eventFilter{}, &out, false)
	if exitCode(err) != exitInterrupted {
		t.Fatalf("interrupted stream: err %v, exit %d, want 130", err, exitCode(err))
	}
}

func jsonKey(pid uint32, typ string) string {
	b, _ := json.Marshal(pid)
	return string(b) + " " + typ
}

func TestParseEventTypes(t *testing.T) {
	got, err := parseEventTypes([]string{"openat,execve", "procexit", "openat_x"})
	if err != nil {
		t.Fatal(err)
	}
	want := []events.Type{events.TypeOpenatX, events.TypeExecveE, events.TypeExecveX, events.TypeProcExit}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if _, err := parseEventTypes([]string{"bogus"}); !errors.Is(err, errUsage) {
		t.Fatalf("bogus type: %v, want a usage error", err)
	}
}
