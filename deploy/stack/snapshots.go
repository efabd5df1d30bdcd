package stack

import (
	"sort"
	"strings"

	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// addSnapshotReads lets the ingest worker read the snapshot prefixes of
// the pipelines (source.prefix outside landing/) that lie outside the
// zones it reads anyway: a run reads every object there.
func addSnapshotReads(add func(string, m), pipelines []*pipeline.Pipeline) {
	seen := map[string]bool{}
	var prefixes []string
	for _, p := range pipelines {
		pre := p.Source.Prefix
		if p.Lambda != nil {
			pre = p.Lambda.BatchPrefix(p.Name) // a batch layer reads its history as a snapshot
		} else if !p.Source.Snapshot() {
			continue
		}
		if seen[pre] || readable(pipeline.WorkerIngest, pre) {
			continue
		}
		seen[pre] = true
		prefixes = append(prefixes, pre)
	}
	if len(prefixes) == 0 {
		return
	}
	sort.Strings(prefixes)
	var objs []any
	for _, pre := range prefixes {
		objs = append(objs, objects(strings.TrimSuffix(pre, "/")))
	}
	add("IngestSnapshotReadPolicy", m{"Type": "AWS::IAM::Policy", "Properties": m{
		"PolicyName":     "snapshot-prefixes",
		"Roles":          []any{ref(logicalID(pipeline.WorkerIngest) + "Role")},
		"PolicyDocument": policy(stmt("s3:GetObject", objs...)),
	}})
}

// readable reports whether a worker's role reads a prefix already.
func readable(worker, prefix string) bool {
	for _, z := range append(zones[worker].read, "claims") {
		if strings.HasPrefix(prefix, z+"/") {
			return true
		}
	}
	return false
}
