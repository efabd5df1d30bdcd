package stack

import (
	"sort"
	"strings"

	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// addActivityAccess grants each worker the lake objects the pipelines'
// activities and preconditions make it read or write beyond its zones: a
// copy's lake source and target (ingest), a shell command's dataset
// (transform), a precondition's key or prefix (the guarded step's
// worker). A key with placeholders ({{run_id}}...) is granted from the
// folder before its first one.
func addActivityAccess(add func(string, m), pipelines []*pipeline.Pipeline) {
	read, write := map[string]map[string]bool{}, map[string]map[string]bool{}
	grant := func(to map[string]map[string]bool, worker, key string) {
		if key = grantable(key); key == "" {
			return
		}
		if to[worker] == nil {
			to[worker] = map[string]bool{}
		}
		to[worker][key] = true
	}
	for _, p := range pipelines {
		for _, a := range p.Activities {
			switch {
			case a.Copy != nil:
				if from, err := pipeline.ParseEndpoint(a.Copy.From); err == nil {
					grant(read, a.Worker(), endpointKey(from))
				}
				if to, err := pipeline.ParseEndpoint(a.Copy.To); err == nil && to.Kind == pipeline.EndpointLake {
					grant(write, a.Worker(), to.Key)
				}
			case a.Shell != nil && a.Shell.Dataset != "":
				grant(read, a.Worker(), datasetZone(a.Shell.Dataset)+"/")
			}
		}
		workers := map[string]string{}
		for _, s := range p.Steps() {
			workers[s.Name] = s.Worker
		}
		for _, pc := range p.Preconditions {
			grant(read, workers[pc.Step], pc.ObjectExists+pc.PrefixNotEmpty)
		}
	}
	for _, w := range pipeline.Workers {
		var statements []m
		if r := objectArns(read[w], zones[w].read); len(r) > 0 {
			statements = append(statements, stmt("s3:GetObject", r...))
		}
		if wr := objectArns(write[w], zones[w].write); len(wr) > 0 {
			statements = append(statements, stmt([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, wr...))
		}
		if len(statements) == 0 {
			continue
		}
		add(logicalID(w)+"ActivityPolicy", m{"Type": "AWS::IAM::Policy", "Properties": m{
			"PolicyName":     "activities",
			"Roles":          []any{ref(logicalID(w) + "Role")},
			"PolicyDocument": policy(statements...),
		}})
	}
}

// endpointKey is the lake key or prefix a copy's source reads ("" for a database).
func endpointKey(e pipeline.Endpoint) string {
	switch e.Kind {
	case pipeline.EndpointLake:
		return e.Key
	case pipeline.EndpointDataset:
		return datasetZone(e.Dataset) + "/"
	}
	return ""
}

// datasetZone is the zone an activity dataset lives in.
func datasetZone(name string) string {
	switch name {
	case pipeline.DatasetRaw, pipeline.DatasetCurated, pipeline.DatasetPredictions:
		return name
	}
	return "training" // the splits and their manifest
}

// grantable is a key as a grant names it: up to the folder of its first
// placeholder (so a prefix), or the key itself.
func grantable(key string) string {
	if i := strings.Index(key, "{{"); i >= 0 {
		key = key[:strings.LastIndex(key[:i], "/")+1]
	}
	return key
}

// objectArns lists the ARNs of keys (a prefix ending in / grants what is
// under it) that no zone of the worker's covers, sorted.
func objectArns(keys map[string]bool, covered []string) []any {
	var out []string
	for k := range keys {
		inZone := false
		for _, z := range append(covered, "claims") {
			inZone = inZone || strings.HasPrefix(k, z+"/")
		}
		if !inZone && k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	arns := make([]any, len(out))
	for i, k := range out {
		if strings.HasSuffix(k, "/") {
			k += "*"
		}
		arns[i] = join("arn:", ref("AWS::Partition"), ":s3:::", ref("LakeBucketName"), "/"+k)
	}
	return arns
}
