package host

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestParseOSRelease(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		{"plain and quoted", "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID='12'\n",
			map[string]string{"NAME": "Debian GNU/Linux", "ID": "debian", "VERSION_ID": "12"}},
		{"comments blank lines CRLF", "# comment\r\n\r\nID=arch\r\nBUILD_ID=rolling # trailing\r\n",
			map[string]string{"ID": "arch", "BUILD_ID": "rolling"}},
		{"escapes in double quotes", `PRETTY_NAME="A \"quoted\" \$name \\ x"` + "\nID=x\n",
			map[string]string{"PRETTY_NAME": `A "quoted" $name \ x`, "ID": "x"}},
		{"hash inside quotes kept", "ANSI_COLOR=\"0;#31\"\nID=x\n",
			map[string]string{"ANSI_COLOR": "0;#31", "ID": "x"}},
		{"spaces around", "  ID = ubuntu  \nVERSION_ID=\"22.04\"\n",
			map[string]string{"ID": "ubuntu", "VERSION_ID": "22.04"}},
		{"malformed lines skipped", "garbage\n=x\n1KEY=y\nID=\"open\nID_LIKE=debian\n",
			map[string]string{"ID_LIKE": "debian"}},
		{"empty value", "ID=\nVERSION_ID=\"\"\n",
			map[string]string{"ID": "", "VERSION_ID": ""}},
		{"last wins", "ID=a\nID=b\n", map[string]string{"ID": "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOSRelease([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseOSReleaseGarbage(t *testing.T) {
	for _, in := range []string{"", "\x00\x01\xff", "# only a comment\n", "no equals sign\n", "\"x\"=y\n"} {
		if _, err := ParseOSRelease([]byte(in)); !errors.Is(err, ErrOSRelease) {
			t.Errorf("ParseOSRelease(%q) error = %v, want ErrOSRelease", in, err)
		}
	}
}

func FuzzParseOSRelease(f *testing.F) {
	for _, s := range []string{"ID=debian\n", "NAME=\"x\\\"y\"\r\nID='z'\n", "# c\n\nA=b #c\n", "ID=\"unterminated\n", "\x00=\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseOSRelease(data)
		if err != nil {
			if !errors.Is(err, ErrOSRelease) {
				t.Fatalf("error %v is not ErrOSRelease", err)
			}
			return
		}
		if len(m) == 0 {
			t.Fatal("no error but no keys")
		}
		var out strings.Builder
		for k, v := range m {
			if !validKey(k) {
				t.Fatalf("invalid key %q returned", k)
			}
			// Written back double-quoted with \ and " escaped, as
			// os-release(5) allows, the value reads back the same.
			out.WriteString(k + `="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + "\"\n")
		}
		again, err := ParseOSRelease([]byte(out.String()))
		if err != nil || !maps.Equal(again, m) {
			t.Fatalf("%q parses to %q; written back as %q it parses to %q, %v", data, m, out.String(), again, err)
		}
	})
}
