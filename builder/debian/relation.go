package debian

import (
	"fmt"
	"strings"
	"unicode"
)

// Relation is one alternative of a Depends-style field: "name:arch (op version)".
type Relation struct {
	Name    string
	Arch    string // ":any", ":native" qualifiers, without the colon
	Op      string // <<, <=, =, >=, >> or ""
	Version string
}

func (r Relation) String() string {
	s := r.Name
	if r.Arch != "" {
		s += ":" + r.Arch
	}
	if r.Op != "" {
		s += " (" + r.Op + " " + r.Version + ")"
	}
	return s
}

// Satisfied reports whether version v meets the relation's constraint.
func (r Relation) Satisfied(v string) bool {
	if r.Op == "" {
		return true
	}
	c := CompareVersions(v, r.Version)
	switch r.Op {
	case "<<":
		return c < 0
	case "<=", "<":
		return c <= 0
	case "=":
		return c == 0
	case ">=", ">":
		return c >= 0
	case ">>":
		return c > 0
	}
	return false
}

// ParseRelations parses a Depends-style field into groups of alternatives:
// "a (>= 1) | b, c" → [[a b] [c]]. Architecture restrictions ("[amd64]") and
// build profiles ("<!nocheck>") are dropped.
func ParseRelations(field string) ([][]Relation, error) {
	var out [][]Relation
	field = strings.ReplaceAll(field, "\n", " ")
	for _, group := range strings.Split(field, ",") {
		group = strings.TrimSpace(group)
		if group == "" {
			continue
		}
		var alts []Relation
		for _, alt := range strings.Split(group, "|") {
			r, err := parseRelation(alt)
			if err != nil {
				return nil, err
			}
			alts = append(alts, r)
		}
		out = append(out, alts)
	}
	return out, nil
}

func parseRelation(s string) (Relation, error) {
	s = stripRestrictions(s)
	var r Relation
	name := s
	if i := strings.IndexByte(s, '('); i >= 0 {
		j := strings.IndexByte(s, ')')
		if j < i {
			return r, fmt.Errorf("relation %q: unbalanced parenthesis: %w", s, ErrSyntax)
		}
		name = strings.TrimSpace(s[:i])
		cons := strings.TrimSpace(s[i+1 : j])
		n := 0
		for n < len(cons) && strings.IndexByte("<>=", cons[n]) >= 0 {
			n++
		}
		r.Op, r.Version = cons[:n], strings.TrimSpace(cons[n:])
		if r.Op == "" || r.Version == "" {
			return r, fmt.Errorf("relation %q: want (op version): %w", s, ErrSyntax)
		}
	}
	if n, a, ok := strings.Cut(name, ":"); ok {
		if a == "" || strings.IndexFunc(a, unicode.IsSpace) >= 0 {
			return r, fmt.Errorf("relation %q: bad architecture qualifier: %w", s, ErrSyntax)
		}
		name, r.Arch = n, a
	}
	// Any white space, not only blanks and tabs: "0\f" would render as a
	// name that parses back trimmed to another package.
	if name == "" || strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return r, fmt.Errorf("relation %q: bad package name: %w", s, ErrSyntax)
	}
	r.Name = name
	return r, nil
}

// stripRestrictions drops "[arch …]" and "<profile …>" outside parentheses.
func stripRestrictions(s string) string {
	var b strings.Builder
	depth, skip := 0, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case skip != 0:
			if c == skip {
				skip = 0
			}
			continue
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && c == '[':
			skip = ']'
			continue
		case depth == 0 && c == '<':
			skip = '>'
			continue
		}
		b.WriteByte(c)
	}
	return strings.TrimSpace(b.String())
}
