package legacy

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kdriver/kdriver/events"
)

func TestScratchLoad(t *testing.T) {
	f, err := os.Open("/tmp/lp/probe.o")
	if err != nil {
		t.Skip(err)
	}
	st, _ := f.Stat()
	p, err := Load("probe.o", f, st.Size(), Options{BufSizePreset: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := NewSource(p)
	defer s.Close()
	go func() { time.Sleep(100 * time.Millisecond); os.ReadFile("/tmp/lpt-nonce") }()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	n := 0
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Log(err)
			break
		}
		n++
		if ev.Type == events.TypeOpenatX && strings.Contains(ev.Str(2), "lpt-nonce") {
			t.Logf("%v %s", ev.Type, ev.Str(2))
		}
	}
	t.Log(n, must(s.Stats()))
}
func must(s events.Stats, _ error) events.Stats { return s }
