package events

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strconv"
	"unicode/utf8"
)

// Address families the sockaddr renderer knows.
const (
	afUnix  = 1
	afInet  = 2
	afInet6 = 10
)

// AppendJSON appends ev as one JSON object (no newline): the header as
// ts pid tid cpu comm type syscall, then every parameter by its name (res,
// path, flags, argv, addr, exit_code …). Strings are kept as JSON strings
// with invalid UTF-8 replaced; argv is an array; addr is rendered as
// "ip:port", "[ip6]:port" or "unix:path" (hex for other families). An
// unavailable string or address (length 0) is null.
func AppendJSON(dst []byte, ev *Event) []byte {
	info, _ := ev.Type.Lookup()
	dst = append(dst, `{"ts":`...)
	dst = strconv.AppendUint(dst, ev.TS, 10)
	dst = append(dst, `,"pid":`...)
	dst = strconv.AppendUint(dst, uint64(ev.PID), 10)
	dst = append(dst, `,"tid":`...)
	dst = strconv.AppendUint(dst, uint64(ev.TID), 10)
	dst = append(dst, `,"cpu":`...)
	dst = strconv.AppendUint(dst, uint64(ev.CPU), 10)
	dst = append(dst, `,"comm":`...)
	dst = appendJSONString(dst, ev.Comm)
	dst = append(dst, `,"type":`...)
	dst = appendJSONString(dst, ev.Type.String())
	if info.Syscall != "" {
		dst = append(dst, `,"syscall":`...)
		dst = appendJSONString(dst, info.Syscall)
	}
	if ev.Flags != 0 {
		dst = append(dst, `,"event_flags":`...)
		dst = strconv.AppendUint(dst, uint64(ev.Flags), 10)
	}
	for i, p := range info.Params {
		if i >= len(ev.Params) {
			break
		}
		dst = append(dst, ',')
		dst = appendJSONString(dst, p.Name)
		dst = append(dst, ':')
		dst = appendValue(dst, p.Kind, ev.Params[i])
	}
	return append(dst, '}')
}

func appendValue(dst []byte, k Kind, b []byte) []byte {
	switch k {
	case KindS64:
		if len(b) != 8 {
			return append(dst, "null"...)
		}
		return strconv.AppendInt(dst, int64(binary.LittleEndian.Uint64(b)), 10)
	case KindU64:
		if len(b) != 8 {
			return append(dst, "null"...)
		}
		return strconv.AppendUint(dst, binary.LittleEndian.Uint64(b), 10)
	case KindStr:
		if len(b) == 0 {
			return append(dst, "null"...)
		}
		return appendJSONString(dst, string(trimNUL(b)))
	case KindArgs:
		dst = append(dst, '[')
		if len(b) > 0 {
			s := trimNUL(b)
			for j := 0; ; j++ {
				if j > 0 {
					dst = append(dst, ',')
				}
				end := indexNUL(s)
				if end < 0 {
					dst = appendJSONString(dst, string(s))
					break
				}
				dst = appendJSONString(dst, string(s[:end]))
				s = s[end+1:]
			}
		}
		return append(dst, ']')
	case KindSockaddr:
		if len(b) == 0 {
			return append(dst, "null"...)
		}
		return appendJSONString(dst, FormatSockaddr(b))
	}
	return append(dst, "null"...)
}

func trimNUL(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == 0 {
		return b[:len(b)-1]
	}
	return b
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// FormatSockaddr renders raw struct sockaddr bytes: "127.0.0.1:80",
// "[::1]:80", "unix:/run/x.sock" ("unix:@name" for the abstract
// namespace), or "family N: <hex>" for anything else or a short address.
func FormatSockaddr(b []byte) string {
	if len(b) < 2 {
		return "short: " + hex.EncodeToString(b)
	}
	fam := binary.LittleEndian.Uint16(b)
	switch {
	case fam == afInet && len(b) >= 8:
		ip := netip.AddrFrom4([4]byte(b[4:8]))
		port := binary.BigEndian.Uint16(b[2:])
		return netip.AddrPortFrom(ip, port).String()
	case fam == afInet6 && len(b) >= 24:
		ip := netip.AddrFrom16([16]byte(b[8:24]))
		port := binary.BigEndian.Uint16(b[2:])
		return netip.AddrPortFrom(ip, port).String()
	case fam == afUnix:
		p := b[2:]
		if len(p) > 0 && p[0] == 0 {
			return "unix:@" + string(trimNUL(p[1:]))
		}
		if i := indexNUL(p); i >= 0 {
			p = p[:i]
		}
		return "unix:" + string(p)
	}
	return "family " + strconv.Itoa(int(fam)) + ": " + hex.EncodeToString(b[2:])
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c < 0x20 || c == 0x7f:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// AppendText appends ev as one human-readable line (no newline):
// "ts cpu comm(pid/tid) type name=value …", strings quoted.
func AppendText(dst []byte, ev *Event) []byte {
	info, _ := ev.Type.Lookup()
	dst = strconv.AppendUint(dst, ev.TS/1e9, 10)
	dst = append(dst, '.')
	ns := strconv.AppendUint(nil, ev.TS%1e9+1e9, 10)
	dst = append(dst, ns[1:]...)
	dst = append(dst, " cpu="...)
	dst = strconv.AppendUint(dst, uint64(ev.CPU), 10)
	dst = append(dst, ' ')
	dst = append(dst, ev.Comm...)
	dst = append(dst, '(')
	dst = strconv.AppendUint(dst, uint64(ev.PID), 10)
	dst = append(dst, '/')
	dst = strconv.AppendUint(dst, uint64(ev.TID), 10)
	dst = append(dst, ") "...)
	dst = append(dst, ev.Type.String()...)
	for i, p := range info.Params {
		if i >= len(ev.Params) {
			break
		}
		dst = append(dst, ' ')
		dst = append(dst, p.Name...)
		dst = append(dst, '=')
		dst = appendValue(dst, p.Kind, ev.Params[i])
	}
	return dst
}
