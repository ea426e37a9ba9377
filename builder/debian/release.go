package debian

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ErrExpired is returned for a Release whose Valid-Until has passed: a
// mirror that stopped syncing, or one replaying an old signed index that
// still lists packages with known holes (apt refuses it the same way).
var ErrExpired = errors.New("release expired")

// FileSum is one entry of a Release file's SHA256 list.
type FileSum struct {
	Path   string // relative to dists/<suite>/
	Size   int64
	SHA256 string
}

// Release is the index of one suite (dists/<suite>/Release or InRelease).
type Release struct {
	Suite         string
	Codename      string
	Architectures []string
	Components    []string
	ValidUntil    string
	Files         map[string]FileSum // by path
}

// ParseRelease reads a Release or InRelease file. The signature of InRelease
// is not checked here: the digests it lists are, for every file fetched
// through it.
func ParseRelease(r io.Reader) (*Release, error) {
	paras, err := ParseControl(r)
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	if len(paras) == 0 {
		return nil, fmt.Errorf("release: empty: %w", ErrSyntax)
	}
	p := paras[0]
	rel := &Release{
		Suite:         p.Get("Suite"),
		Codename:      p.Get("Codename"),
		Architectures: strings.Fields(p.Get("Architectures")),
		Components:    strings.Fields(p.Get("Components")),
		ValidUntil:    p.Get("Valid-Until"),
		Files:         map[string]FileSum{},
	}
	if !p.Has("SHA256") {
		return nil, fmt.Errorf("release %s: no SHA256 list (too old an archive?): %w", rel.Suite, ErrSyntax)
	}
	for _, line := range strings.Split(p.Get("SHA256"), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 || len(f[0]) != 64 {
			return nil, fmt.Errorf("release %s: SHA256 line %q: %w", rel.Suite, line, ErrSyntax)
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("release %s: SHA256 line %q: bad size: %w", rel.Suite, line, ErrSyntax)
		}
		rel.Files[f[2]] = FileSum{Path: f[2], Size: size, SHA256: strings.ToLower(f[0])}
	}
	return rel, nil
}

// CheckValid refuses a Release whose Valid-Until is before now, or is not
// a date at all. A Release without the field (most suites but -security
// and -backports) is valid.
func (r *Release) CheckValid(now time.Time) error {
	if r.ValidUntil == "" {
		return nil
	}
	var until time.Time
	var err error
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 MST", "Mon, 2 Jan 2006 15:04:05 -0700"} {
		if until, err = time.Parse(layout, r.ValidUntil); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("release %s: Valid-Until %q is not a date: %w", r.Suite, r.ValidUntil, ErrSyntax)
	}
	if now.After(until) {
		return fmt.Errorf("%w: %s was valid until %s (now %s): the mirror serves a stale index; use a mirror that is in sync",
			ErrExpired, r.Suite, until.UTC().Format(time.RFC1123), now.UTC().Format(time.RFC1123))
	}
	return nil
}
