package host

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
)

// ErrOSRelease is returned for os-release content with no usable line.
var ErrOSRelease = errors.New("invalid os-release")

// ParseOSRelease parses os-release(5) content: KEY=value lines, values
// optionally in single or double quotes with backslash escapes in double
// quotes, '#' comments, blank lines, CRLF line ends. Malformed lines are
// skipped; their count goes into the error only when nothing was parsed.
func ParseOSRelease(data []byte) (map[string]string, error) {
	m := map[string]string{}
	bad := 0
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || !validKey(key) {
			bad++
			continue
		}
		v, ok := unquote(strings.TrimSpace(val))
		if !ok {
			bad++
			continue
		}
		m[key] = v
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("%w: %v", ErrOSRelease, err)
	}
	if len(m) == 0 {
		return m, fmt.Errorf("%w: no KEY=value line (%d malformed)", ErrOSRelease, bad)
	}
	return m, nil
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || (i > 0 && '0' <= c && c <= '9')) {
			return false
		}
	}
	return true
}

// unquote handles the shell-like quoting os-release allows. An unquoted
// value ends at an unescaped '#' preceded by a space (a trailing comment).
func unquote(v string) (string, bool) {
	if v == "" {
		return "", true
	}
	switch q := v[0]; q {
	case '"', '\'':
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			c := v[i]
			switch {
			case c == q:
				return b.String(), true
			case q == '"' && c == '\\' && i+1 < len(v):
				i++
				b.WriteByte(v[i])
			default:
				b.WriteByte(c)
			}
		}
		return "", false // unterminated
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String(), true
}
