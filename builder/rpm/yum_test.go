package rpm

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHostRepos(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/yum.repos.d/centos.repo": {Data: []byte(`# comment
[baseos]
name=CentOS Stream $releasever - BaseOS
baseurl=http://127.0.0.1/$releasever-stream/BaseOS/$basearch/os/
        http://127.0.0.2/$releasever-stream/BaseOS/$basearch/os/
gpgcheck=1
enabled=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-centosofficial

[appstream]
metalink=https://127.0.0.1/metalink?repo=x
enabled=1

[debug]
baseurl=http://127.0.0.1/debug/
enabled=0
`)},
		"etc/yum.repos.d/notes.txt": {Data: []byte("[x]\nbaseurl=http://127.0.0.1/x\n")},
	}
	got, err := HostRepos(fsys, "9", "x86_64")
	if err != nil {
		t.Fatal(err)
	}
	want := "[{baseos CentOS Stream 9 - BaseOS [http://127.0.0.1/9-stream/BaseOS/x86_64/os/ http://127.0.0.2/9-stream/BaseOS/x86_64/os/] true true [file:///etc/pki/rpm-gpg/RPM-GPG-KEY-centosofficial]}]"
	if fmt.Sprint(got) != want {
		t.Errorf("got  %v\nwant %s", got, want)
	}
	if _, err := ParseRepoFile(strings.NewReader("baseurl=x\n"), "", ""); err == nil {
		t.Error("option outside a section accepted")
	}
}

func FuzzParseRepoFile(f *testing.F) {
	f.Add("[a]\nbaseurl=http://x/$basearch\n  http://y\nenabled=0\n")
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseRepoFile(strings.NewReader(s), "9", "x86_64")
		if err != nil {
			return
		}
		for _, r := range rs {
			for _, u := range r.BaseURLs {
				if strings.Contains(u, "$basearch") {
					t.Fatalf("unexpanded %q", u)
				}
			}
		}
	})
}
