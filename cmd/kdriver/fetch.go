package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/loader"
)

// defaultCacheDir holds verified downloads when neither --cache-dir nor
// KDRIVER_CACHE says otherwise.
const defaultCacheDir = "/var/cache/kdriver"

// storeFlags configure the artifact stores (fetch and artifact commands).
type storeFlags struct {
	CABundle       string
	Insecure       bool
	Headers        []string
	ConnectTimeout time.Duration
	Timeout        time.Duration
	IdleTimeout    time.Duration
	Retries        int
	IndexKey       string
}

func bindStoreFlags(fs *pflag.FlagSet, o *storeFlags) {
	fs.StringVar(&o.CABundle, "ca-bundle", "", "PEM `FILE` of CAs trusted for https:// and oci:// stores, besides the system's")
	fs.BoolVar(&o.Insecure, "insecure", false, "skip TLS verification and allow plain-HTTP OCI registries (only for testing)")
	fs.StringArrayVar(&o.Headers, "http-header", nil, "extra request header \"Name: value\" for HTTP stores; repeatable")
	fs.DurationVar(&o.ConnectTimeout, "connect-timeout", 10*time.Second, "TCP connect and TLS handshake timeout")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "overall timeout of one artifact download, retries included")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", 30*time.Second, "fail a download that receives nothing for this long")
	fs.IntVar(&o.Retries, "retries", 3, "retries after 5xx answers, resets and cut-off bodies (0: none)")
	fs.StringVar(&o.IndexKey, "index-key", "", "ed25519 public key `FILE` (PEM): trust only artifacts listed in indexes it signed")
}

func (o *storeFlags) options(g *globals) (artifacts.Options, error) {
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--connect-timeout", o.ConnectTimeout}, {"--timeout", o.Timeout}, {"--idle-timeout", o.IdleTimeout}} {
		if d.v <= 0 {
			return artifacts.Options{}, usageError{fmt.Sprintf("%s %v: want a positive duration", d.flag, d.v)}
		}
	}
	if o.Retries < 0 {
		return artifacts.Options{}, usageError{fmt.Sprintf("--retries %d: want 0 (none) or more", o.Retries)}
	}
	if o.CABundle != "" {
		// Read by the stores later: a FIFO would block them, deaf to SIGINT.
		if err := checkInputFile("--ca-bundle", o.CABundle); err != nil {
			return artifacts.Options{}, err
		}
	}
	h := artifacts.HTTPOptions{
		ConnectTimeout: o.ConnectTimeout,
		Timeout:        o.Timeout,
		IdleTimeout:    o.IdleTimeout,
		Retries:        o.Retries,
		CABundle:       o.CABundle,
		Headers:        http.Header{},
	}
	if o.Retries == 0 {
		h.Retries = -1
	}
	for _, s := range o.Headers {
		n, v, err := artifacts.ParseHeader(s)
		if err != nil {
			return artifacts.Options{}, usageError{"--http-header: " + err.Error()}
		}
		h.Headers.Add(n, v)
	}
	opts := artifacts.Options{HTTP: h, Insecure: o.Insecure, Logger: g.logger}
	if o.IndexKey != "" {
		data, err := readInputFile("--index-key", o.IndexKey, maxKeySize)
		if err != nil {
			return opts, err
		}
		if opts.IndexKeys, err = artifacts.ParsePublicKeys(data); err != nil {
			return opts, usageError{fmt.Sprintf("--index-key %s: %v", o.IndexKey, err)}
		}
	}
	return opts, nil
}

type fetchOptions struct {
	store         storeFlags
	Kinds         []string
	TargetID      string
	OutputDir     string
	CacheDir      string
	SHA256        string
	RequireDigest bool
}

func newFetchCmd(g *globals) *cobra.Command {
	o := &fetchOptions{}
	cmd := &cobra.Command{
		Use:   "fetch",
		Short: "Download the driver artifact for this host (or the overrides) into the cache, verified; no install",
		Long: `Resolve the artifact name for the host (or --kernel-release, --kernel-version,
--arch, --target-id), try each --repo in order, and keep the first download
whose size and sha256 match what the store publishes (OCI descriptor, index.json
or .sha256 sidecar). Bytes go to a temporary file beside the destination and are
renamed into place only once verified. Exit 3 when no store has the artifact.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFetch(cmd.Context(), g, o)
		},
	}
	fs := cmd.Flags()
	bindStoreFlags(fs, &o.store)
	fs.StringSliceVar(&o.Kinds, "type", []string{"kmod"}, "artifact types to fetch: kmod, ebpf (comma-separated or repeated; --kind is an alias)")
	// --type as in install, detect and cleanup; --kind, its first name, stays.
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "kind" {
			name = "type"
		}
		return pflag.NormalizedName(name)
	})
	fs.StringVar(&o.TargetID, "target-id", "", "override the detected target ID (e.g. ubuntu-aws)")
	fs.StringVar(&o.OutputDir, "output-dir", "", "put the artifact directly in `DIR` instead of the cache")
	fs.StringVar(&o.CacheDir, "cache-dir", "", "cache `DIR` (default $KDRIVER_CACHE or "+defaultCacheDir+")")
	fs.StringVar(&o.SHA256, "sha256", "", "expected sha256 of the artifact (hex; one --type only)")
	fs.BoolVar(&o.RequireDigest, "require-digest", false, "refuse artifacts for which the store publishes no digest")
	return cmd
}

// fetched is one artifact in the command's result.
type fetched struct {
	artifacts.ID
	artifacts.Result
}

func runFetch(ctx context.Context, g *globals, o *fetchOptions) error {
	if len(g.Repos) == 0 {
		return usageError{"no artifact store: give --repo URL (https://, http://, oci://, file://)"}
	}
	if o.SHA256 != "" && len(o.Kinds) > 1 {
		return usageError{"--sha256 names one artifact: give a single --type"}
	}
	if o.SHA256 != "" && !isHexSHA256(o.SHA256) {
		return usageError{fmt.Sprintf("--sha256 %q: want 64 hex digits (optionally prefixed sha256:)", o.SHA256)}
	}
	if o.TargetID != "" {
		if err := fileNamePart(o.TargetID); err != nil {
			return usageError{fmt.Sprintf("--target-id %q: %v", o.TargetID, err)}
		}
	}
	var kinds []artifacts.Kind
	for _, k := range o.Kinds {
		switch artifacts.Kind(k) {
		case artifacts.KindKmod, artifacts.KindEBPF:
			kinds = append(kinds, artifacts.Kind(k))
		case "modern-ebpf", "modern_ebpf", "modern-bpf":
			return usageError{fmt.Sprintf("--type %s: the modern eBPF probe is built into kdriver: there is nothing to fetch", k)}
		default:
			return usageError{fmt.Sprintf("--type %q: want kmod or ebpf", k)}
		}
	}
	sopts, err := o.store.options(g)
	if err != nil {
		return err
	}
	stores, err := artifacts.OpenAll(g.Repos, sopts)
	if err != nil {
		return usageError{err.Error()}
	}
	facts, err := hostFacts(ctx, g)
	if err != nil {
		return err
	}
	target := facts.Target
	if o.TargetID != "" {
		target.ID = o.TargetID
	}
	cache := &artifacts.Cache{Dir: o.CacheDir, Logger: g.logger}
	switch {
	case o.OutputDir != "":
		cache.Dir, cache.Flat = o.OutputDir, true
	default:
		cache.Dir = cacheDir(o.CacheDir)
	}
	var out []fetched
	for _, k := range kinds {
		id := target.Artifact(g.DriverName, g.DriverVersion, k)
		fo := artifacts.FetchOptions{SHA256: o.SHA256, RequireDigest: o.RequireDigest}
		bar := newProgressBar(g, id)
		if bar != nil {
			fo.Progress = bar.update
		}
		r, err := cache.Fetch(ctx, stores, id, fo)
		bar.finish()
		if err != nil {
			if errors.Is(err, artifacts.ErrNotFound) {
				return fmt.Errorf("%w: %w", loader.ErrNoArtifact, err)
			}
			return err
		}
		g.logger.Info("artifact ready", "path", r.Path, "sha256", r.SHA256, "cached", r.Cached, "source", r.From.Source)
		out = append(out, fetched{id, r})
	}
	return printFetched(g, out)
}

// isHexSHA256 reports whether s is a sha256 in hex, "sha256:" allowed.
func isHexSHA256(s string) bool {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func printFetched(g *globals, out []fetched) error {
	if g.JSON() {
		return writeJSON(g.stdout, map[string]any{"artifacts": out})
	}
	for _, f := range out {
		how := "downloaded from " + f.From.Source
		if f.Cached {
			how = "already in the cache"
		}
		fmt.Fprintf(g.stdout, "%s\tsha256:%s\t%d bytes\t%s\n", f.Path, f.SHA256, f.Size, how)
	}
	return nil
}

// progressBar draws downloads on a terminal; nil (all methods no-ops)
// when stderr is not a terminal or --quiet is on.
type progressBar struct {
	bar   *progressbar.ProgressBar
	total int64
}

func newProgressBar(g *globals, id artifacts.ID) *progressBar {
	f, ok := g.stderr.(*os.File)
	if g.Quiet || !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &progressBar{total: -2, bar: progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription(id.FileName()),
		progressbar.OptionShowBytes(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
	)}
}

func (p *progressBar) update(pr artifacts.Progress) {
	if pr.Total != p.total {
		p.total = pr.Total
		p.bar.ChangeMax64(pr.Total)
		p.bar.Describe(shortName(pr.Source))
	}
	p.bar.Set64(pr.Done)
}

func (p *progressBar) finish() {
	if p != nil {
		p.bar.Finish()
	}
}

func shortName(s string) string {
	if i := strings.LastIndexAny(s, "/:"); i >= 0 && i < len(s)-1 {
		return s[i+1:]
	}
	return s
}
