package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"strings"
	"text/template"
)

//go:embed *.sh.tmpl
var files embed.FS

// ErrNoTemplate is returned for a family/kind without a script.
var ErrNoTemplate = errors.New("no build script template")

// Data is what a template may use. Strings end up in comments only.
type Data struct {
	Family string // debian, rpm
	Kind   string // kmod, or ebpf for the legacy probe
	Target string // the matrix target name
	Cross  bool   // building for another arch than the host's
}

// Render returns the build script for a distro family and driver kind.
func Render(d Data) (string, error) {
	name := d.Family + "-" + d.Kind + ".sh.tmpl"
	t, err := template.New(name).Funcs(template.FuncMap{"comment": comment}).ParseFS(files, name, "common.sh.tmpl")
	if err != nil {
		return "", fmt.Errorf("template %s: %w", name, ErrNoTemplate)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, d); err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	return buf.String(), nil
}

// Families lists the distro families with a script for kind.
func Families(kind string) []string {
	ents, _ := files.ReadDir(".")
	var out []string
	for _, e := range ents {
		if f, ok := strings.CutSuffix(e.Name(), "-"+kind+".sh.tmpl"); ok {
			out = append(out, f)
		}
	}
	return out
}

// comment makes s safe inside a shell comment line.
func comment(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}
