package scap

import (
	"encoding/binary"
	"fmt"

	"github.com/kdriver/kdriver/events"
)

// Raw is one event in the driver's own format. Params alias the bytes it
// was decoded from.
type Raw struct {
	TS     uint64
	TID    uint64
	Code   uint16
	Params [][]byte
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: scap: %s", events.ErrMalformed, fmt.Sprintf(format, args...))
}

// DecodeRaw parses the event at the start of b and returns the number of
// bytes it used. It never reads past len(b) nor the event's own length,
// and the parameter lengths must add up to exactly that length.
func DecodeRaw(r *Raw, b []byte) (int, error) {
	if len(b) < HeaderLen {
		return 0, malformed("%d bytes, shorter than the %d-byte header", len(b), HeaderLen)
	}
	le := binary.LittleEndian
	total := le.Uint32(b[16:])
	code := le.Uint16(b[20:])
	np := le.Uint32(b[22:])
	switch {
	case total < HeaderLen || total > MaxEventLen:
		return 0, malformed("length %d out of range [%d, %d]", total, HeaderLen, MaxEventLen)
	case int(total) > len(b):
		return 0, malformed("length %d but only %d bytes", total, len(b))
	case np > maxParams:
		return 0, malformed("event %d: %d params", code, np)
	}
	b = b[:total]
	lw := 2
	if largePayload(code) {
		lw = 4
	}
	off := HeaderLen + lw*int(np)
	if off > len(b) {
		return 0, malformed("event %d: %d param lengths do not fit in %d bytes", code, np, total)
	}
	r.TS = le.Uint64(b[0:])
	r.TID = le.Uint64(b[8:])
	r.Code = code
	r.Params = r.Params[:0]
	for i := range int(np) {
		var l int
		if lw == 2 {
			l = int(le.Uint16(b[HeaderLen+2*i:]))
		} else {
			l = int(le.Uint32(b[HeaderLen+4*i:]))
		}
		if l > len(b)-off {
			return 0, malformed("event %d: param %d length %d overruns the event", code, i, l)
		}
		r.Params = append(r.Params, b[off:off+l])
		off += l
	}
	if off != len(b) {
		return 0, malformed("event %d: %d trailing bytes", code, len(b)-off)
	}
	return len(b), nil
}

// param returns parameter i, nil when the event has fewer.
func (r *Raw) param(i int) []byte {
	if i >= len(r.Params) {
		return nil
	}
	return r.Params[i]
}

// int returns parameter i as a signed integer of its own width (1, 2, 4 or
// 8 bytes, sign-extended), and false for any other width.
func (r *Raw) int(i int) (int64, bool) {
	p := r.param(i)
	le := binary.LittleEndian
	switch len(p) {
	case 1:
		return int64(int8(p[0])), true
	case 2:
		return int64(int16(le.Uint16(p))), true
	case 4:
		return int64(int32(le.Uint32(p))), true
	case 8:
		return int64(le.Uint64(p)), true
	}
	return 0, false
}

// uint returns parameter i as an unsigned integer of its own width.
func (r *Raw) uint(i int) (uint64, bool) {
	p := r.param(i)
	le := binary.LittleEndian
	switch len(p) {
	case 1:
		return uint64(p[0]), true
	case 2:
		return uint64(le.Uint16(p)), true
	case 4:
		return uint64(le.Uint32(p)), true
	case 8:
		return le.Uint64(p), true
	}
	return 0, false
}

// str returns parameter i as a string up to its first NUL.
func (r *Raw) str(i int) string {
	p := r.param(i)
	for j, c := range p {
		if c == 0 {
			return string(p[:j])
		}
	}
	return string(p)
}
