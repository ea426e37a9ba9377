package events

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrClosed is returned by Source.Next after Close.
var ErrClosed = errors.New("event source closed")

// ErrMalformed wraps every decoding error: the bytes are not a valid event.
var ErrMalformed = errors.New("malformed event")

// Event is one decoded event. Params hold the raw parameter bytes in wire
// order (see Info.Params for their names and kinds).
type Event struct {
	TS     uint64 // CLOCK_BOOTTIME, ns
	TID    uint32
	PID    uint32
	Type   Type
	Flags  uint32
	CPU    uint32
	Comm   string
	Params [][]byte
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Decode parses one event from the start of b and returns it with the
// number of bytes it used. It never reads past len(b) nor past the event's
// own length, and it checks the parameter count against the schema.
func Decode(b []byte) (*Event, int, error) {
	ev := &Event{}
	n, err := DecodeInto(ev, b)
	if err != nil {
		return nil, 0, err
	}
	return ev, n, nil
}

// DecodeInto is Decode without allocating the Event; ev.Params is reused.
// The parameter slices alias b.
func DecodeInto(ev *Event, b []byte) (int, error) {
	if len(b) < HeaderLen {
		return 0, malformed("%d bytes, shorter than the %d-byte header", len(b), HeaderLen)
	}
	le := binary.LittleEndian
	total := le.Uint32(b[16:])
	typ := Type(le.Uint16(b[20:]))
	np := int(le.Uint16(b[22:]))
	switch {
	case total < HeaderLen || total > MaxEventLen:
		return 0, malformed("length %d out of range [%d, %d]", total, HeaderLen, MaxEventLen)
	case int(total) > len(b):
		return 0, malformed("length %d but only %d bytes", total, len(b))
	}
	info, ok := typ.Lookup()
	if !ok {
		return 0, malformed("unknown type %d", typ)
	}
	if np != len(info.Params) {
		return 0, malformed("%s: %d params, schema %d has %d", info.Name, np, SchemaVersion, len(info.Params))
	}
	b = b[:total]
	off := HeaderLen + 2*np
	if off > len(b) {
		return 0, malformed("%s: %d param lengths do not fit in %d bytes", info.Name, np, total)
	}
	ev.TS = le.Uint64(b[0:])
	ev.TID = le.Uint32(b[8:])
	ev.PID = le.Uint32(b[12:])
	ev.Type = typ
	ev.Flags = le.Uint32(b[24:])
	ev.CPU = le.Uint32(b[28:])
	comm := b[32 : 32+CommLen]
	if i := bytes.IndexByte(comm, 0); i >= 0 {
		comm = comm[:i]
	}
	// A stream repeats the same few names: reuse the string when it is
	// the same (the comparison does not allocate, the conversion does).
	if ev.Comm != string(comm) {
		ev.Comm = string(comm)
	}
	ev.Params = ev.Params[:0]
	for i := range np {
		l := int(le.Uint16(b[HeaderLen+2*i:]))
		if l > len(b)-off {
			return 0, malformed("%s: param %s length %d overruns the event", info.Name, info.Params[i].Name, l)
		}
		p := b[off : off+l]
		if err := checkKind(info.Params[i], p); err != nil {
			return 0, malformed("%s: %v", info.Name, err)
		}
		ev.Params = append(ev.Params, p)
		off += l
	}
	if off != len(b) {
		return 0, malformed("%s: %d trailing bytes", info.Name, len(b)-off)
	}
	return len(b), nil
}

func checkKind(p Param, b []byte) error {
	switch p.Kind {
	case KindS64, KindU64:
		if len(b) != 8 {
			return fmt.Errorf("param %s: %d bytes, want 8", p.Name, len(b))
		}
	case KindStr:
		if len(b) > 0 && b[len(b)-1] != 0 {
			return fmt.Errorf("param %s: string not NUL-terminated", p.Name)
		}
	}
	return nil
}

// Int returns parameter i as a signed integer (0 if it is not 8 bytes).
func (e *Event) Int(i int) int64 {
	if i >= len(e.Params) || len(e.Params[i]) != 8 {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(e.Params[i]))
}

// Str returns parameter i as a string without its NUL.
func (e *Event) Str(i int) string {
	if i >= len(e.Params) {
		return ""
	}
	return string(bytes.TrimSuffix(e.Params[i], []byte{0}))
}

// Args returns parameter i split at NULs.
func (e *Event) Args(i int) []string {
	if i >= len(e.Params) || len(e.Params[i]) == 0 {
		return nil
	}
	s := bytes.TrimSuffix(e.Params[i], []byte{0})
	parts := bytes.Split(s, []byte{0})
	out := make([]string, len(parts))
	for j, p := range parts {
		out[j] = string(p)
	}
	return out
}

// Param returns the parameter called name, and whether the type has it.
func (e *Event) Param(name string) ([]byte, Kind, bool) {
	info, ok := e.Type.Lookup()
	if !ok {
		return nil, 0, false
	}
	for i, p := range info.Params {
		if p.Name == name && i < len(e.Params) {
			return e.Params[i], p.Kind, true
		}
	}
	return nil, 0, false
}

// Encoder builds events in the wire format. Producers written in Go (the
// userspace tracer, tests) use it; the kernel drivers write the same bytes.
type Encoder struct {
	buf []byte
}

// Begin starts an event; add exactly the type's parameters, then call End.
func (enc *Encoder) Begin(ts uint64, tid, pid uint32, typ Type, cpu uint32, comm string) {
	info, _ := typ.Lookup()
	np := len(info.Params)
	enc.buf = enc.buf[:0]
	enc.buf = append(enc.buf, make([]byte, HeaderLen+2*np)...)
	le := binary.LittleEndian
	le.PutUint64(enc.buf[0:], ts)
	le.PutUint32(enc.buf[8:], tid)
	le.PutUint32(enc.buf[12:], pid)
	le.PutUint16(enc.buf[20:], uint16(typ))
	le.PutUint16(enc.buf[22:], uint16(np))
	le.PutUint32(enc.buf[28:], cpu)
	copy(enc.buf[32:32+CommLen-1], comm)
}

func (enc *Encoder) nparam() int {
	return int(binary.LittleEndian.Uint16(enc.buf[22:]))
}

var errTooMany = errors.New("encoder: more params than the type has")

func (enc *Encoder) add(idx *int, p []byte) {
	np := enc.nparam()
	if *idx >= np {
		panic(errTooMany)
	}
	binary.LittleEndian.PutUint16(enc.buf[HeaderLen+2*(*idx):], uint16(len(p)))
	enc.buf = append(enc.buf, p...)
	*idx++
}

// EventBuilder adds parameters in order; obtained from Encoder.Params.
type EventBuilder struct {
	enc *Encoder
	i   int
}

// Params returns a builder for the event begun with Begin.
func (enc *Encoder) Params() *EventBuilder { return &EventBuilder{enc: enc} }

// Int adds an s64/u64 parameter.
func (b *EventBuilder) Int(v int64) *EventBuilder {
	var x [8]byte
	binary.LittleEndian.PutUint64(x[:], uint64(v))
	b.enc.add(&b.i, x[:])
	return b
}

// Str adds a string parameter, NUL-terminated, truncated to max bytes.
func (b *EventBuilder) Str(s string, max int) *EventBuilder {
	if len(s)+1 > max {
		s = s[:max-1]
		b.enc.setFlag(FlagTruncated)
	}
	b.enc.add(&b.i, append([]byte(s), 0))
	return b
}

// Raw adds a parameter's bytes as they are (args, sockaddr, unavailable).
func (b *EventBuilder) Raw(p []byte) *EventBuilder {
	b.enc.add(&b.i, p)
	return b
}

func (enc *Encoder) setFlag(f uint32) {
	le := binary.LittleEndian
	le.PutUint32(enc.buf[24:], le.Uint32(enc.buf[24:])|f)
}

// End finishes the event and returns its bytes, valid until the next Begin.
func (enc *Encoder) End() []byte {
	binary.LittleEndian.PutUint32(enc.buf[16:], uint32(len(enc.buf)))
	return enc.buf
}
