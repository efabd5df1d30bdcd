package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrNoPipeline means no pipeline claims an object key or name.
var ErrNoPipeline = errors.New("no pipeline")

// Registry serves the pipeline definitions of a directory. It rereads the
// directory when its files change, so a fixed pipeline file takes effect
// without a restart. A file that does not parse is kept as a problem: its
// pipeline's inputs fail with that file's error, the others run on.
type Registry struct {
	fsys     fs.FS
	label    string // how errors name the directory
	interval time.Duration

	mu         sync.Mutex
	generation uint64 // bumped whenever the set of pipelines changes
	checked    time.Time
	signature  string
	byName     map[string]*Pipeline
	broken     map[string]error // by pipeline name (the file's base name)
	problems   []error
}

// NewRegistry serves the *.yaml files at the root of fsys. label prefixes
// file names in errors (the directory path, usually).
func NewRegistry(fsys fs.FS, label string) (*Registry, error) {
	r := &Registry{fsys: fsys, label: label, interval: time.Second}
	if err := r.refresh(true); err != nil {
		return nil, err
	}
	return r, nil
}

// Get returns the pipeline with this name, or the error of its broken file.
func (r *Registry) Get(name string) (*Pipeline, error) {
	r.maybeRefresh()
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.byName[name]; ok {
		return p, nil
	}
	if err, ok := r.broken[name]; ok {
		return nil, fmt.Errorf("pipeline %q cannot run: %w", name, err)
	}
	return nil, fmt.Errorf("%w named %q (known: %s)", ErrNoPipeline, name, strings.Join(r.namesLocked(), ", "))
}

// ForKey returns the pipeline whose landing prefix holds key.
func (r *Registry) ForKey(key string) (*Pipeline, error) {
	r.maybeRefresh()
	r.mu.Lock()
	defer r.mu.Unlock()
	var best *Pipeline
	for _, p := range r.byName {
		if p.OwnsKey(key) && (best == nil || len(p.Source.Prefix) > len(best.Source.Prefix)) {
			best = p
		}
	}
	if best != nil {
		return best, nil
	}
	// landing/<name>/... of a pipeline whose file is broken.
	if parts := strings.SplitN(key, "/", 3); len(parts) == 3 {
		if err, ok := r.broken[parts[1]]; ok {
			return nil, fmt.Errorf("pipeline %q cannot run: %w", parts[1], err)
		}
	}
	return nil, fmt.Errorf("%w watches %s (prefixes: %s)", ErrNoPipeline, key, strings.Join(r.prefixesLocked(), ", "))
}

// All returns the valid pipelines, sorted by name.
func (r *Registry) All() []*Pipeline {
	r.maybeRefresh()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Pipeline, 0, len(r.byName))
	for _, n := range r.namesLocked() {
		out = append(out, r.byName[n])
	}
	return out
}

// Problems returns the errors of the files that did not load.
func (r *Registry) Problems() []error {
	r.maybeRefresh()
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.problems...)
}

func (r *Registry) namesLocked() []string {
	names := make([]string, 0, len(r.byName))
	for n := range r.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (r *Registry) prefixesLocked() []string {
	var out []string
	for _, n := range r.namesLocked() {
		if pre := r.byName[n].Source.Prefix; pre != "" {
			out = append(out, pre)
		}
	}
	return out
}

func (r *Registry) maybeRefresh() {
	r.mu.Lock()
	due := time.Since(r.checked) >= r.interval
	r.mu.Unlock()
	if due {
		_ = r.refresh(false) // keep serving the last good view if the directory vanished
	}
}

func isDefinition(name string) bool {
	return (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) && !strings.HasPrefix(name, ".")
}

func (r *Registry) refresh(first bool) error {
	entries, err := fs.ReadDir(r.fsys, ".")
	if err != nil {
		return fmt.Errorf("read pipelines %s: %w", r.label, err)
	}
	var sig strings.Builder
	var files []string
	for _, e := range entries {
		if e.IsDir() || !isDefinition(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		fmt.Fprintf(&sig, "%s|%d|%d;", e.Name(), info.Size(), info.ModTime().UnixNano())
		files = append(files, e.Name())
	}
	r.mu.Lock()
	r.checked = time.Now()
	unchanged := !first && sig.String() == r.signature
	r.mu.Unlock()
	if unchanged {
		return nil
	}

	byName := map[string]*Pipeline{}
	broken := map[string]error{}
	var problems []error
	fail := func(name string, err error) {
		broken[name] = err
		problems = append(problems, err)
	}
	for _, f := range files {
		label := path.Join(r.label, f)
		name := strings.TrimSuffix(strings.TrimSuffix(f, ".yaml"), ".yml")
		data, err := fs.ReadFile(r.fsys, f)
		if err != nil {
			fail(name, fmt.Errorf("%s: %w", label, err))
			continue
		}
		p, err := Parse(label, data)
		if err != nil {
			fail(name, err)
			continue
		}
		if p.Name != name {
			fail(name, &Error{File: label, Line: 1, Field: "name", Msg: fmt.Sprintf("%q must match the file name (%s.yaml)", p.Name, p.Name)})
			continue
		}
		byName[name] = p
	}
	// Two pipelines may not claim overlapping landing prefixes.
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, a := range names {
		for _, b := range names[i+1:] {
			pa, pb := byName[a], byName[b]
			if pa.Source.Prefix == "" || pb.Source.Prefix == "" || pa.Source.Snapshot() || pb.Source.Snapshot() {
				continue // a database source lands no files; snapshots only read theirs
			}
			if strings.HasPrefix(pa.Source.Prefix, pb.Source.Prefix) || strings.HasPrefix(pb.Source.Prefix, pa.Source.Prefix) {
				err := &Error{File: pb.File, Field: "source.prefix", Msg: fmt.Sprintf("%q overlaps %q of %s", pb.Source.Prefix, pa.Source.Prefix, pa.File)}
				delete(byName, b)
				fail(b, err)
			}
		}
	}
	r.mu.Lock()
	r.signature, r.byName, r.broken, r.problems = sig.String(), byName, broken, problems
	r.generation++
	r.mu.Unlock()
	return nil
}

// Generation changes whenever the registry reloads a changed directory, so
// callers can cache what they derive from All.
func (r *Registry) Generation() uint64 {
	r.maybeRefresh()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.generation
}
