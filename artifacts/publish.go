package artifacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/kdriver/kdriver/kernelrelease"
)

// ErrInput marks files and folders given to Publish whose identity or
// layout cannot be worked out: the caller's to correct.
var ErrInput = errors.New("cannot publish this input")

type inputError struct{ msg string }

func (e inputError) Error() string        { return e.msg }
func (e inputError) Is(target error) bool { return target == ErrInput }

// OpenRepo opens a repository given as a URL (see Open) or as a plain
// directory path (a FileStore).
func OpenRepo(repo string, opts Options) (Store, error) {
	if strings.Contains(repo, "://") {
		return Open(repo, opts)
	}
	return NewFileStore(repo, opts)
}

// Publish publishes built .ko/.o files to stores. A file's identity comes
// from FILE.json (an index entry, as the builder writes it) when present,
// else from its Falco-layout name and Defaults. A folder is a Falco-layout
// tree (<driver version>/<arch>/<file>): each of its .ko/.o files is
// published, version and arch taken from its path.
type Publish struct {
	Stores []Pusher
	// Defaults complete the names of files without FILE.json: DriverName
	// (to read the name), DriverVersion and Arch (any spelling
	// kernelrelease.ParseArch takes) unless the file's path in a tree gives
	// them; TargetID, KernelRelease and KernelVersion, when set, override
	// the name's fields.
	Defaults ID
	Build    map[string]string // added to every entry's build information
	// ReadEntry reads a FILE.json that exists; the caller bounds it and
	// refuses what is not a regular file (nil: os.ReadFile).
	ReadEntry func(path string) ([]byte, error)
	Logger    *slog.Logger
}

// Pushed is one file published to one store.
type Pushed struct {
	Entry Entry      `json:"entry"`
	To    Descriptor `json:"to"`
}

// Run works out the entries of every file (so that a mistake publishes
// nothing), then pushes each file to each store in turn.
func (p *Publish) Run(ctx context.Context, args []string) ([]Pushed, error) {
	items, err := expand(args)
	if err != nil {
		return nil, err
	}
	var entries []Entry
	for _, it := range items {
		e, err := p.entry(it)
		if err != nil {
			return nil, err
		}
		for k, v := range p.Build {
			if e.Build == nil {
				e.Build = map[string]string{}
			}
			e.Build[k] = v
		}
		entries = append(entries, e)
	}
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var out []Pushed
	for i, it := range items {
		for _, s := range p.Stores {
			fh, err := os.Open(it.file)
			if err != nil {
				return out, err
			}
			d, err := s.Push(ctx, entries[i], fh)
			fh.Close()
			if err != nil {
				return out, err
			}
			log.Info("published", "file", entries[i].File, "to", d.Source)
			out = append(out, Pushed{entries[i], d})
		}
	}
	return out, nil
}

// entry works out a file's index entry: FILE.json, else its name and the
// defaults; then its real digest and size.
func (p *Publish) entry(it pushItem) (Entry, error) {
	file := it.file
	var e Entry
	read := p.ReadEntry
	if read == nil {
		read = os.ReadFile
	}
	var meta []byte
	_, err := os.Stat(file + ".json")
	if err == nil {
		meta, err = read(file + ".json")
	}
	switch {
	case err == nil:
		if err := json.Unmarshal(meta, &e); err != nil {
			return e, fmt.Errorf("%s.json: %w", file, err)
		}
		e.File = filepath.Base(file)
	case errors.Is(err, os.ErrNotExist):
		d := p.Defaults
		id, perr := ParseFileName(filepath.Base(file), d.DriverName)
		if perr != nil {
			return e, inputError{perr.Error() + " (or write " + filepath.Base(file) + ".json)"}
		}
		id.DriverVersion = d.DriverVersion
		if it.version != "" {
			id.DriverVersion = it.version
		}
		arch := d.Arch
		if it.arch != "" {
			arch = it.arch
		}
		if arch == "" {
			return e, inputError{fmt.Sprintf("%s: give --arch (x86_64 or aarch64) or write %s.json", file, filepath.Base(file))}
		}
		a, err := kernelrelease.ParseArch(arch)
		if err != nil {
			return e, inputError{err.Error()}
		}
		id.Arch = string(a)
		if d.TargetID != "" {
			id.TargetID = d.TargetID
		}
		if d.KernelRelease != "" {
			id.KernelRelease = d.KernelRelease
		}
		if d.KernelVersion != "" {
			id.KernelVersion = d.KernelVersion
		}
		e = EntryFor(id)
		if e.File != filepath.Base(file) {
			return e, inputError{fmt.Sprintf("%s: the overrides name it %s; rename the file or drop the overrides", file, e.File)}
		}
	default:
		return e, err
	}
	f, err := os.Open(file)
	if err != nil {
		return e, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return e, fmt.Errorf("%s: %w", file, err)
	}
	e.SHA256, e.Size = hex.EncodeToString(h.Sum(nil)), n
	return e, nil
}

// pushItem is one file to publish; version and arch are set when it was
// found in a Falco-layout tree (<dir>/<driver version>/<arch>/<file>).
type pushItem struct{ file, version, arch string }

// expand turns folder arguments (a Falco-layout tree, as `kdriver build`
// writes) into their .ko/.o files.
func expand(args []string) ([]pushItem, error) {
	var out []pushItem
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, pushItem{file: a})
			continue
		}
		fs, err := NewFileStore(a, Options{})
		if err != nil {
			return nil, inputError{err.Error()}
		}
		pairs, err := fs.Versions()
		if err != nil {
			return nil, err
		}
		n := len(out)
		for _, p := range pairs {
			ents, err := os.ReadDir(filepath.Join(a, p[0], p[1]))
			if err != nil {
				return nil, err
			}
			for _, e := range ents {
				name := e.Name()
				if e.Type().IsRegular() && !strings.HasPrefix(name, ".") && (strings.HasSuffix(name, ".ko") || strings.HasSuffix(name, ".o")) {
					out = append(out, pushItem{file: filepath.Join(a, p[0], p[1], name), version: p[0], arch: p[1]})
				}
			}
		}
		if len(out) == n {
			return nil, inputError{fmt.Sprintf("%s: no <driver version>/<arch>/*.ko|*.o in it", a)}
		}
	}
	return out, nil
}
