package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path"
	"strings"
	"time"

	"github.com/fusiondata/fusion/services/runtime/lake"
)

// UnknownPipeline is the quarantine folder of inputs no pipeline claims.
const UnknownPipeline = "_unknown"

// quarantineRecord is written next to a quarantined object.
type quarantineRecord struct {
	Error    string    `json:"error"`
	File     string    `json:"file"`
	Line     int64     `json:"line,omitempty"`
	Field    string    `json:"field,omitempty"`
	Original string    `json:"original"`
	RunID    string    `json:"run_id"`
	Pipeline string    `json:"pipeline,omitempty"`
	Step     string    `json:"step"`
	Worker   string    `json:"worker"`
	EventID  string    `json:"event_id"`
	Time     time.Time `json:"time"`
}

// quarantine moves bad input out of the way: the object is copied to
// quarantine/<pipeline>/<run>/<name> with <name>.error.json beside it
// saying why. Landed files are removed from landing; objects in the other
// zones are the lake's record and stay where they are.
func quarantine(ctx context.Context, l lake.Lake, in *Input, worker string, ie *InputError) (string, error) {
	folder := in.Run.Pipeline
	if folder == "" {
		folder = UnknownPipeline
	}
	dst := lake.RunKey(lake.Quarantine, folder, in.Run.RunID, path.Base(ie.Object))
	if _, err := l.Copy(ctx, ie.Object, dst); err != nil {
		if !errors.Is(err, lake.ErrNotFound) {
			return "", err
		}
		// Already moved by an earlier delivery of the same event?
		if _, serr := l.Stat(ctx, dst); serr != nil {
			return "", err
		}
	}
	rec, _ := json.MarshalIndent(quarantineRecord{
		Error: ie.Error(), File: ie.File, Line: ie.Line, Field: ie.Field, Original: ie.Object,
		RunID: in.Run.RunID, Pipeline: in.Run.Pipeline, Step: in.Step.Name, Worker: worker, EventID: in.Event.ID, Time: time.Now().UTC(),
	}, "", "  ")
	if _, err := l.Put(ctx, dst+".error.json", bytes.NewReader(append(rec, '\n'))); err != nil {
		return "", err
	}
	if strings.HasPrefix(ie.Object, lake.Landing+"/") {
		if err := l.Delete(ctx, ie.Object); err != nil {
			return "", err
		}
	}
	return dst, nil
}
