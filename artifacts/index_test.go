package artifacts

import (
	"strings"
	"testing"
)

func TestNearest(t *testing.T) {
	mk := func(target, rel string) Entry {
		id := testID
		id.TargetID, id.KernelRelease = target, rel
		return EntryFor(id)
	}
	ix := &Index{Artifacts: []Entry{
		mk("ubuntu-aws", "5.15.0-1050-aws"),
		mk("ubuntu-aws", "5.15.0-1060-aws"),
		mk("ubuntu-generic", "5.15.0-1059-generic"),
		mk("ubuntu-aws", "6.8.0-1009-aws"),
		mk("ubuntu-aws", "5.4.0-1100-aws"),
	}}
	got := ix.Nearest(testID, 3)
	var names []string
	for _, e := range got {
		names = append(names, e.TargetID+" "+e.KernelRelease)
	}
	want := "ubuntu-aws 5.15.0-1060-aws,ubuntu-aws 5.15.0-1050-aws,ubuntu-aws 5.4.0-1100-aws"
	if strings.Join(names, ",") != want {
		t.Errorf("Nearest = %s\nwant      %s", strings.Join(names, ","), want)
	}
}

func TestParseFileName(t *testing.T) {
	tests := []struct {
		file string
		want ID
		bad  bool
	}{
		{file: "falco_ubuntu-generic_5.15.0-91-generic_101.ko", want: ID{DriverName: "falco", Kind: KindKmod, TargetID: "ubuntu-generic", KernelRelease: "5.15.0-91-generic", KernelVersion: "101"}},
		{file: "falco_debian_6.1.0-13-amd64_1.o", want: ID{DriverName: "falco", Kind: KindEBPF, TargetID: "debian", KernelRelease: "6.1.0-13-amd64", KernelVersion: "1"}},
		{file: "falco_amazonlinux2_5.10.205-195.804.amzn2.x86_64_1.ko", want: ID{DriverName: "falco", Kind: KindKmod, TargetID: "amazonlinux2", KernelRelease: "5.10.205-195.804.amzn2.x86_64", KernelVersion: "1"}},
		{file: "falco_minikube_5.10.207_1_1.34.0.ko", want: ID{DriverName: "falco", Kind: KindKmod, TargetID: "minikube", KernelRelease: "5.10.207", KernelVersion: "1_1.34.0"}},
		{file: "falco_bottlerocket_5.15.160_1_1.20.1-aws.o", want: ID{DriverName: "falco", Kind: KindEBPF, TargetID: "bottlerocket", KernelRelease: "5.15.160", KernelVersion: "1_1.20.1-aws"}},
		{file: "other_debian_6.1_1.ko", bad: true},
		{file: "falco_debian_6.1.ko", bad: true},
		{file: "falco_debian_6.1_1.txt", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseFileName(tt.file, "falco")
			if (err != nil) != tt.bad {
				t.Fatalf("error = %v, want error %v", err, tt.bad)
			}
			if !tt.bad && got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseFileName(f *testing.F) {
	f.Add("falco_ubuntu-generic_5.15.0-91-generic_101.ko")
	f.Add("falco_x__y_.o")
	f.Fuzz(func(t *testing.T, file string) {
		id, err := ParseFileName(file, "falco")
		if err != nil {
			return
		}
		if id.FileName() != file {
			t.Fatalf("ParseFileName(%q) = %+v, whose file name is %q", file, id, id.FileName())
		}
	})
}

func FuzzParseIndex(f *testing.F) {
	ix := &Index{DriverVersion: "1.0", Arch: "x86_64", Artifacts: []Entry{{File: "a.ko", SHA256: strings.Repeat("0", 64), Size: 3}}}
	data, _ := ix.Marshal()
	f.Add(data)
	f.Add([]byte(`{"schema":1,"artifacts":[{"file":"../x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := ParseIndex(data)
		if err != nil {
			return
		}
		out, err := ix.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseIndex(out)
		if err != nil {
			t.Fatalf("re-parse of marshalled index: %v", err)
		}
		if len(again.Artifacts) != len(ix.Artifacts) {
			t.Fatal("artifacts lost in a round trip")
		}
		for _, e := range ix.Artifacts {
			if strings.ContainsAny(e.File, "/\\") {
				t.Fatalf("accepted file name %q", e.File)
			}
		}
	})
}

func FuzzParseSidecar(f *testing.F) {
	f.Add([]byte(strings.Repeat("a", 64) + "  file.ko\n"))
	f.Add([]byte("<html>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := parseSidecar(data)
		if err == nil && len(h) != 64 {
			t.Fatalf("parseSidecar(%q) = %q", data, h)
		}
	})
}

func TestSignVerify(t *testing.T) {
	priv, pub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	_, pub2, _ := GenerateKey()
	// Two keys in one file (rotation): either verifies.
	keys, err := ParsePublicKeys(append(pub2, pub...))
	if err != nil || len(keys) != 2 {
		t.Fatalf("ParsePublicKeys: %d keys, %v", len(keys), err)
	}
	data := []byte(`{"schema":1}`)
	sig := SignIndex(k, data)
	if err := VerifyIndex(keys, data, sig); err != nil {
		t.Fatal(err)
	}
	if err := VerifyIndex(keys, append(data, ' '), sig); err == nil {
		t.Fatal("changed index verified")
	}
	if _, err := ParsePublicKeys(priv); err == nil {
		t.Fatal("a private key parsed as public keys")
	}
}
