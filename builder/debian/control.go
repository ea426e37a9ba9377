package debian

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrSyntax is returned for control data that cannot be parsed.
var ErrSyntax = errors.New("control syntax")

// Paragraph is one stanza of deb822 control data. Field names keep their
// spelling; look them up with Get, which ignores case.
type Paragraph struct {
	keys   []string
	values map[string]string // lower-case key → value
}

// Get returns the field's value ("" when absent). Continuation lines are
// joined with "\n", the first line trimmed.
func (p Paragraph) Get(key string) string { return p.values[strings.ToLower(key)] }

// Has reports whether the field is present.
func (p Paragraph) Has(key string) bool {
	_, ok := p.values[strings.ToLower(key)]
	return ok
}

// Keys returns the field names in file order.
func (p Paragraph) Keys() []string { return p.keys }

func (p *Paragraph) set(key, value string) {
	if p.values == nil {
		p.values = map[string]string{}
	}
	lk := strings.ToLower(key)
	if _, ok := p.values[lk]; !ok {
		p.keys = append(p.keys, key)
	}
	p.values[lk] = value
}

// ParseControl reads deb822 paragraphs (Packages, Release, *.sources). Lines
// starting with '#' are comments; a PGP signature wrapper (InRelease) is
// skipped around the signed text.
func ParseControl(r io.Reader) ([]Paragraph, error) {
	var (
		out     []Paragraph
		cur     Paragraph
		lastKey string
		lineNo  int
		inSig   bool
		// The lines of lastKey's value, joined once the field ends: joining
		// at every continuation line is quadratic, and a crafted index of
		// a few MiB would take hours.
		lines []string
	)
	endField := func() {
		if len(lines) > 1 {
			cur.set(lastKey, strings.Join(lines, "\n"))
		}
		lines = nil
	}
	flush := func() {
		endField()
		if len(cur.keys) > 0 {
			out = append(out, cur)
		}
		cur, lastKey = Paragraph{}, ""
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(line, "-----BEGIN PGP SIGNED MESSAGE-----"):
			// Armor headers ("Hash: SHA512") follow until a blank line.
			for sc.Scan() {
				lineNo++
				if strings.TrimSpace(sc.Text()) == "" {
					break
				}
			}
			continue
		case strings.HasPrefix(line, "-----BEGIN PGP SIGNATURE-----"):
			flush()
			inSig = true
			continue
		case strings.HasPrefix(line, "-----END PGP SIGNATURE-----"):
			inSig = false
			continue
		}
		if inSig || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if lastKey == "" {
				return nil, fmt.Errorf("line %d: continuation without a field: %w", lineNo, ErrSyntax)
			}
			v := strings.TrimSpace(line)
			if v == "." {
				v = ""
			}
			lines = append(lines, v)
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("line %d: %q is not a field: %w", lineNo, line, ErrSyntax)
		}
		endField()
		lastKey = key
		cur.set(key, strings.TrimSpace(value))
		lines = []string{cur.Get(key)}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	flush()
	return out, nil
}
