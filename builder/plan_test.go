package builder

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/kdriver/kdriver/builder/matrix"
)

func TestShardSplitsDisjointAndWhole(t *testing.T) {
	var ts []matrix.Target
	for i := range 7 {
		ts = append(ts, matrix.Target{Name: fmt.Sprintf("t%d", 6-i)})
	}
	seen := map[string]int{}
	for i := range 3 {
		for _, x := range Shard(ts, i, 3) {
			seen[x.Name]++
		}
	}
	if len(seen) != len(ts) {
		t.Fatalf("shards cover %d of %d targets", len(seen), len(ts))
	}
	for n, c := range seen {
		if c != 1 {
			t.Errorf("%s in %d shards", n, c)
		}
	}
	if got := Shard(ts, 0, 3); got[0].Name != "t0" || got[1].Name != "t3" {
		t.Errorf("shard 0/3 = %v, want t0, t3, t6 by name", got)
	}
}

func TestNewestKeepsFirstOfEachSeriesFlavourArch(t *testing.T) {
	k := func(ver, flavour, arch string) matrix.Target {
		return matrix.Target{Suite: "s", PackageVersion: ver, FixedKernelRelease: ver + flavour, Arch: arch, Name: ver + flavour + arch}
	}
	ts := []matrix.Target{
		k("6.1.10", "-amd64", "x86_64"),
		k("6.1.9", "-amd64", "x86_64"),
		k("6.1.9", "-cloud-amd64", "x86_64"),
		k("6.1.9", "-arm64", "aarch64"),
		k("5.10.2", "-amd64", "x86_64"),
	}
	var got []string
	for _, x := range Newest(ts) {
		got = append(got, x.Name)
	}
	want := []string{"6.1.10-amd64x86_64", "6.1.9-cloud-amd64x86_64", "6.1.9-arm64aarch64", "5.10.2-amd64x86_64"}
	if !slices.Equal(got, want) {
		t.Errorf("Newest = %v, want %v", got, want)
	}
}

// A Debian package version with a backport suffix (6.12.117-1~deb12u1) is
// not in the fixed release (6.12.117-1-cloud-arm64): the flavour is what
// follows the version up to its revision.
func TestNewestGroupsDebianBackportsByFlavour(t *testing.T) {
	k := func(ver, fixed string) matrix.Target {
		return matrix.Target{Suite: "s", PackageVersion: ver, FixedKernelRelease: fixed, Arch: "aarch64", Name: fixed}
	}
	ts := []matrix.Target{
		k("6.12.117-1~deb12u1", "6.12.117-1-cloud-arm64"),
		k("6.12.117-1~deb12u1", "6.12.117-1-arm64"),
		k("6.12.110-1~deb12u1", "6.12.110-1-cloud-arm64"),
	}
	var got []string
	for _, x := range Newest(ts) {
		got = append(got, x.Name)
	}
	want := []string{"6.12.117-1-cloud-arm64", "6.12.117-1-arm64"}
	if !slices.Equal(got, want) {
		t.Errorf("Newest = %v, want %v", got, want)
	}
}

func TestSelectNamesAMissingTarget(t *testing.T) {
	all := []matrix.Target{{Name: "a"}, {Name: "b"}}
	got, err := Select(all, []string{"b", "a"})
	if err != nil || got[0].Name != "b" || got[1].Name != "a" {
		t.Fatalf("Select(b, a) = %v, %v", got, err)
	}
	if _, err := Select(all, []string{"c"}); !errors.Is(err, ErrNoTarget) {
		t.Errorf("Select(c) error = %v, want ErrNoTarget", err)
	}
}

func TestChooseRefusesAnUnknownMode(t *testing.T) {
	if _, err := Choose("nope", Backends{}); !errors.Is(err, ErrMode) {
		t.Errorf("Choose(nope) error = %v, want ErrMode", err)
	}
	local := &Local{}
	c, err := Choose("local", Backends{Local: local})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := c(t.Context(), matrix.Target{}, Compiler{}); b != local {
		t.Errorf("local policy chose %v", b)
	}
}
