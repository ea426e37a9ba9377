package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kdriver/kdriver/artifacts"
	"github.com/kdriver/kdriver/kernelrelease"
)

func newArtifactCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "artifact",
		Short: "Publish built artifacts to HTTP-layout dirs or OCI, list them, write the index",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError{"artifact: give a subcommand: push, ls, index or keygen"}
		},
	}
	cmd.AddCommand(newArtifactPushCmd(g), newArtifactLsCmd(g), newArtifactIndexCmd(g), newArtifactKeygenCmd(g))
	return cmd
}

type pushOptions struct {
	store    storeFlags
	SignKey  string
	TargetID string
	Build    []string
}

func newArtifactPushCmd(g *globals) *cobra.Command {
	o := &pushOptions{}
	cmd := &cobra.Command{
		Use:   "push FILE|DIR...",
		Short: "Publish artifacts to every --repo (file:///dir or a directory path, oci://registry/repo)",
		Long: `Publish built .ko/.o files. Each file's identity comes from FILE.json (an index
entry, as the builder writes it) when present, else from its Falco-layout name
<driver>_<target>_<release>_<version>.ko|.o with --driver-name, --driver-version and
--arch (--target-id, --kernel-release and --kernel-version override the name's
fields). A DIR is a Falco-layout tree (<driver version>/<arch>/<file>, as
kdriver build writes it): every .ko/.o in it is published, version and arch
taken from its path. Directories get the file, a .sha256 sidecar and an updated index.json
(signed with --sign-key); OCI repositories get one manifest per artifact, tagged
and annotated, and an index manifest.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPush(cmd.Context(), g, o, args)
		},
	}
	bindStoreFlags(cmd.Flags(), &o.store)
	cmd.Flags().StringVar(&o.SignKey, "sign-key", "", "ed25519 private key `FILE` (PKCS#8 PEM) to sign the index with")
	cmd.Flags().StringVar(&o.TargetID, "target-id", "", "target ID of the file (default: from its name)")
	cmd.Flags().StringArrayVar(&o.Build, "build", nil, "build information `KEY=VALUE` for the index; repeatable")
	return cmd
}

// publishStores opens the --repo stores for publishing.
func publishStores(g *globals, so *storeFlags, signKey string) ([]artifacts.Pusher, error) {
	if len(g.Repos) == 0 {
		return nil, usageError{"no store to publish to: give --repo file:///dir, a directory or oci://registry/repo"}
	}
	opts, err := so.options(g)
	if err != nil {
		return nil, err
	}
	if signKey != "" {
		data, err := readInputFile("--sign-key", signKey, maxKeySize)
		if err != nil {
			return nil, err
		}
		if opts.SignKey, err = artifacts.ParsePrivateKey(data); err != nil {
			return nil, usageError{fmt.Sprintf("--sign-key %s: %v", signKey, err)}
		}
	}
	var out []artifacts.Pusher
	for _, r := range g.Repos {
		s, err := artifacts.OpenRepo(r, opts)
		if err != nil {
			return nil, usageError{err.Error()}
		}
		p, ok := s.(artifacts.Pusher)
		if !ok {
			return nil, usageError{fmt.Sprintf("--repo %s: %v: publish to a directory served by the web server, or to oci://", r, artifacts.ErrNoPush)}
		}
		out = append(out, p)
	}
	return out, nil
}

func runPush(ctx context.Context, g *globals, o *pushOptions, files []string) error {
	if o.TargetID != "" {
		if err := fileNamePart(o.TargetID); err != nil {
			return usageError{fmt.Sprintf("--target-id %q: %v", o.TargetID, err)}
		}
	}
	stores, err := publishStores(g, &o.store, o.SignKey)
	if err != nil {
		return err
	}
	build := map[string]string{}
	for _, b := range o.Build {
		k, v, ok := strings.Cut(b, "=")
		if !ok || k == "" {
			return usageError{fmt.Sprintf("--build %q: want KEY=VALUE", b)}
		}
		build[k] = v
	}
	if err := checkPushArgs(files); err != nil {
		return err
	}
	pub := &artifacts.Publish{
		Stores: stores, Build: build, Logger: g.logger,
		ReadEntry: func(path string) ([]byte, error) {
			return readInputFile("push: index entry", path, maxKeySize)
		},
		Defaults: artifacts.ID{
			DriverName: g.DriverName, DriverVersion: g.DriverVersion, Arch: g.Arch,
			TargetID: o.TargetID, KernelRelease: g.KernelRelease, KernelVersion: g.KernelVersion,
		},
	}
	out, err := pub.Run(ctx, files)
	if errors.Is(err, artifacts.ErrInput) {
		return usageError{err.Error()}
	}
	if err != nil {
		return err
	}
	if g.JSON() {
		return writeJSON(g.stdout, map[string]any{"pushed": out})
	}
	for _, p := range out {
		fmt.Fprintf(g.stdout, "%s\tsha256:%s\t%s\n", p.Entry.File, p.Entry.SHA256, p.To.Source)
	}
	return nil
}

// checkPushArgs refuses arguments that are neither folders nor regular
// files (a FIFO would hang the hashing) before anything is read.
func checkPushArgs(args []string) error {
	for _, a := range args {
		if st, err := os.Stat(a); err == nil && st.IsDir() {
			continue
		}
		if err := checkInputFile("push", a); err != nil {
			return err
		}
	}
	return nil
}

func newArtifactLsCmd(g *globals) *cobra.Command {
	so := &storeFlags{}
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the artifacts each --repo's index lists for --driver-version (all versions of a directory store)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLs(cmd.Context(), g, so)
		},
	}
	bindStoreFlags(cmd.Flags(), so)
	return cmd
}

type listed struct {
	Store string           `json:"store"`
	Index *artifacts.Index `json:"index"`
}

func runLs(ctx context.Context, g *globals, so *storeFlags) error {
	if len(g.Repos) == 0 {
		return usageError{"no artifact store: give --repo URL"}
	}
	opts, err := so.options(g)
	if err != nil {
		return err
	}
	arches := []string{string(kernelrelease.ArchX86_64), string(kernelrelease.ArchAarch64)}
	if g.Arch != "" {
		a, err := kernelrelease.ParseArch(g.Arch)
		if err != nil {
			return usageError{err.Error()}
		}
		arches = []string{string(a)}
	}
	var out []listed
	for _, r := range g.Repos {
		s, err := artifacts.OpenRepo(r, opts)
		if err != nil {
			return usageError{err.Error()}
		}
		pairs := [][2]string{}
		if fs, ok := s.(*artifacts.FileStore); ok {
			if pairs, err = fs.Versions(); err != nil {
				return fmt.Errorf("store %s: %w", s.Name(), err)
			}
		} else {
			for _, a := range arches {
				pairs = append(pairs, [2]string{g.DriverVersion, a})
			}
		}
		for _, p := range pairs {
			var ix *artifacts.Index
			switch st := s.(type) {
			case *artifacts.OCIStore:
				ix, err = st.IndexFor(ctx, g.DriverName, p[0], p[1])
			case artifacts.Indexer:
				ix, err = st.Index(ctx, p[0], p[1])
			}
			if errors.Is(err, artifacts.ErrNotFound) {
				g.logger.Debug("no index", "store", s.Name(), "version", p[0], "arch", p[1])
				continue
			}
			if err != nil {
				return fmt.Errorf("store %s: %w", s.Name(), err)
			}
			out = append(out, listed{s.Name(), ix})
		}
	}
	if g.JSON() {
		if out == nil {
			out = []listed{}
		}
		return writeJSON(g.stdout, map[string]any{"indexes": out})
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STORE\tVERSION\tARCH\tKIND\tTARGET\tKERNEL RELEASE\tKERNEL VERSION\tSIZE\tSHA256")
	for _, l := range out {
		for _, e := range l.Index.Artifacts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%.12s\n", l.Store, l.Index.DriverVersion, l.Index.Arch, e.Kind, e.TargetID, e.KernelRelease, e.KernelVersion, e.Size, e.SHA256)
		}
	}
	return tw.Flush()
}

func newArtifactIndexCmd(g *globals) *cobra.Command {
	var signKey string
	so := &storeFlags{}
	// index reads local directories only: the store flags keep their
	// defaults without being offered.
	bindStoreFlags(pflag.NewFlagSet("index", pflag.ContinueOnError), so)
	cmd := &cobra.Command{
		Use:   "index DIR...",
		Short: "Rebuild index.json (and its signature) of directory stores from the files in them",
		Long: `Recompute the sha256 and size of every .ko/.o in each <driver version>/<arch>
folder of the directories, keep the identity and build information the old index
had, name new files from their Falco-layout names (--driver-name), and write
index.json atomically, signed with --sign-key.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			return runIndex(cmd.Context(), g, so, signKey, dirs)
		},
	}
	cmd.Flags().StringVar(&signKey, "sign-key", "", "ed25519 private key `FILE` (PKCS#8 PEM) to sign the indexes with")
	return cmd
}

func runIndex(ctx context.Context, g *globals, so *storeFlags, signKey string, dirs []string) error {
	g.Repos = dirs
	stores, err := publishStores(g, so, signKey)
	if err != nil {
		return err
	}
	var out []*artifacts.Index
	for _, p := range stores {
		fs, ok := p.(*artifacts.FileStore)
		if !ok {
			return usageError{fmt.Sprintf("%s: artifact index rebuilds directory stores only (OCI indexes are written by push)", p.Name())}
		}
		pairs, err := fs.Versions()
		if err != nil {
			return fmt.Errorf("store %s: %w", fs.Name(), err)
		}
		for _, pr := range pairs {
			ix, skipped, err := fs.Reindex(ctx, g.DriverName, pr[0], pr[1])
			if err != nil {
				return fmt.Errorf("store %s: %w", fs.Name(), err)
			}
			for _, s := range skipped {
				g.logger.Warn("not indexed: name is not <driver>_<target>_<release>_<version> for this --driver-name and the old index does not list it", "file", filepath.Join(pr[0], pr[1], s))
			}
			out = append(out, ix)
			if !g.JSON() {
				fmt.Fprintf(g.stdout, "%s/%s/%s/%s\t%d artifacts\n", fs.Name(), pr[0], pr[1], artifacts.IndexFile, len(ix.Artifacts))
			}
		}
	}
	if g.JSON() {
		return writeJSON(g.stdout, map[string]any{"indexes": out})
	}
	return nil
}

func newArtifactKeygenCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "keygen PREFIX",
		Short: "Write a new ed25519 key pair for signing indexes: PREFIX.key (private, 0600) and PREFIX.pub",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if base := filepath.Base(args[0]); args[0] == "" || strings.HasSuffix(args[0], "/") || base == "." || base == ".." {
				return usageError{fmt.Sprintf("keygen %q: give a file name prefix, e.g. keys/index (writes keys/index.key and keys/index.pub)", args[0])}
			}
			priv, pub, err := artifacts.GenerateKey()
			if err != nil {
				return err
			}
			// Never overwrite a key: an index signed with it would stop verifying.
			if err := writeNew(args[0]+".key", priv, 0o600); err != nil {
				return err
			}
			if err := writeNew(args[0]+".pub", pub, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s.key\n%s.pub\n", args[0], args[0])
			return nil
		},
	}
}

func writeNew(p string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
