package pipeline

import (
	"path"
	"strings"

	"github.com/fusiondata/fusion/messages"
)

// Snapshot reports whether the source is a snapshot: files under a prefix
// outside landing/ (incoming/sales/, raw/clicks/). Objects there do not
// start runs as they arrive; a fusion.ingest.requested.v1 event (a
// schedule, `fusion ingest --pipeline`) starts one, whose ingest reads
// every object under the prefix at that moment as one dataset.
func (s Source) Snapshot() bool {
	return s.Postgres == nil && s.Prefix != "" && !strings.HasPrefix(s.Prefix, "landing/")
}

// StartsOnRequest reports whether the pipeline's runs start on a
// fusion.ingest.requested.v1 event — a Postgres source or a snapshot —
// rather than on a landed object. Only such pipelines may have a schedule.
func (p *Pipeline) StartsOnRequest() bool {
	return p.Source.Postgres != nil || p.Source.Snapshot()
}

// SnapshotSkips reports whether a snapshot leaves an object under its
// prefix out of the dataset: "folders" (keys ending in /), names starting
// with _ or . (markers and manifests such as _SUCCESS or a snapshot's own
// _snapshot.json) and .parquet objects (the raw zone keeps each file's
// typed Parquet copy beside its bytes; a snapshot of raw/ reads the bytes).
func SnapshotSkips(key string) bool {
	if strings.HasSuffix(key, "/") {
		return true
	}
	name := path.Base(key)
	return strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") || strings.EqualFold(path.Ext(name), ".parquet")
}

// snapshotRefused are the lake prefixes a snapshot may not read: bad
// input, models and claim checks are not data.
var snapshotRefused = []string{"quarantine/", "models/", "claims/"}

// validateSnapshot checks a snapshot source's prefix.
func (v *validator) validateSnapshot(p *Pipeline) {
	pre := p.Source.Prefix
	if !strings.HasSuffix(pre, "/") || messages.ValidKey(pre) != nil || strings.HasPrefix(pre, "/") || pre == "/" {
		v.add("source.prefix", "must be a key prefix ending in / (got %q)", pre)
		return
	}
	for _, r := range snapshotRefused {
		if strings.HasPrefix(pre, r) {
			v.add("source.prefix", "a snapshot cannot read %s: it holds no data files (got %q)", r, pre)
		}
	}
	// A snapshot of the pipeline's own curated (or later) output would
	// read what its previous runs wrote.
	for _, zone := range []string{"curated", "training", "predictions"} {
		if own := zone + "/" + p.Name + "/"; strings.HasPrefix(pre, own) || strings.HasPrefix(own, pre) {
			v.add("source.prefix", "%q holds the pipeline's own %s output", pre, zone)
		}
	}
}
