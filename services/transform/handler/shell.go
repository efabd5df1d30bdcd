package handler

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/activity"
	"github.com/fusiondata/fusion/services/runtime/shell"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// A shell activity (pipeline.Shell) runs on transform, the compute worker,
// sized and scaled for work like it. The command runs with sh -c in a
// scratch directory of its own, removed afterwards, bounded by the
// activity's timeout (its process group killed past it), with the run in
// its environment — FUSION_RUN_ID, FUSION_PIPELINE, FUSION_STEP — and,
// when it names a dataset, FUSION_DATASET (the name), FUSION_DATASET_PATH
// (a local file: the lake's own file on the embedded tier, a download on
// S3; a directory of links when the dataset has several objects) and
// FUSION_DATASET_URI (file:// or s3://). A command that fails, or runs
// out of time, fails the attempt with its exit status and the tails of
// its stderr and stdout; it is retried like any step.

// maxOutput bounds the stdout tail an activity's event carries.
const maxOutput = 1024

func (h *transformer) shellActivity(ctx context.Context, in *worker.Input) (worker.Output, error) {
	a, err := activity.Of(in)
	if err != nil {
		return worker.Output{}, err
	}
	dir, err := os.MkdirTemp(h.deps.Engine.TempDir(), "shell-*")
	if err != nil {
		return worker.Output{}, err
	}
	defer os.RemoveAll(dir)
	env := activity.Env(in)
	var bytes int64
	if ds := a.Shell.Dataset; ds != "" {
		objs, err := activity.Dataset(ctx, h.deps.Lake, in.Run.Pipeline, in.Run.RunID, ds)
		if err != nil {
			return worker.Output{}, err
		}
		keys := make([]string, len(objs))
		for i, o := range objs {
			keys[i], bytes = o.Key, bytes+o.Size
		}
		paths, release, err := worker.LocalFiles(ctx, h.deps.Lake, keys, dir)
		if err != nil {
			return worker.Output{}, err
		}
		defer release()
		local, uri := paths[0], activity.URI(h.deps.Lake, keys[0])
		if len(paths) > 1 {
			local = filepath.Join(dir, "dataset")
			if err := os.Mkdir(local, 0o755); err != nil {
				return worker.Output{}, err
			}
			for i, p := range paths {
				if err := os.Symlink(p, filepath.Join(local, path.Base(keys[i]))); err != nil {
					return worker.Output{}, err
				}
			}
			uri = strings.TrimSuffix(activity.URI(h.deps.Lake, keys[0]), path.Base(keys[0]))
		}
		env = append(env, "FUSION_DATASET="+ds, "FUSION_DATASET_PATH="+local, "FUSION_DATASET_URI="+uri)
	}
	cmd := shell.Command{Script: activity.Vars(in).Expand(a.Shell.Command), Dir: dir, Env: env, Timeout: a.Shell.TimeoutDuration()}
	res, err := shell.Run(ctx, cmd)
	if err != nil {
		if ctx.Err() != nil {
			return worker.Output{}, ctx.Err()
		}
		return worker.Output{}, fmt.Errorf("activity %s: %w", a.Name, err)
	}
	log := h.deps.Logger
	if log == nil {
		log = slog.Default()
	}
	done := activity.Completed(in, a)
	done.Output = strings.TrimSpace(res.Stdout)
	if len(done.Output) > maxOutput {
		done.Output = "…" + done.Output[len(done.Output)-maxOutput:]
	}
	log.Info("shell activity done", "activity", a.Name, "run_id", in.Run.RunID, "duration_ms", res.Duration.Milliseconds(), "output", done.Output)
	return worker.Output{Bytes: bytes, Events: []messages.Detail{done}}, nil
}
