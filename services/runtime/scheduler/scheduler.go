// Package scheduler fires pipelines' schedules on the embedded tier, where
// no EventBridge Scheduler runs: each due time becomes a
// fusion.ingest.requested.v1 event on the bus, exactly the event
// EventBridge Scheduler sends on AWS (request id "schedule:<due time>").
//
// It keeps, per pipeline, a mark in the home's metastore — the due time
// of the last fire — and fires each due time after it. It fires, then
// moves the mark: a crash in between fires the same due time again at
// the next start, which is the same request and so the same run, and the
// ingest worker's handled-event marks acknowledge it without running it
// twice.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/schedule"
	"github.com/fusiondata/fusion/services/runtime/transport"
)

// State keeps each pipeline's schedule mark: the due time of its last
// fire, or the time the scheduler started counting from (when it first saw
// the pipeline, or skipped missed fires).
//
// Rules: ScheduleMark returns false for a pipeline never marked; a mark
// never moves back (SetScheduleMark with an earlier time keeps the later
// one); marks outlive the process.
type State interface {
	ScheduleMark(ctx context.Context, pipeline string) (time.Time, bool, error)
	SetScheduleMark(ctx context.Context, pipeline string, at time.Time) error
}

// RequestedBy names the local scheduler in the requests it sends.
const RequestedBy = "fusion scheduler"

// Config wires a Scheduler.
type Config struct {
	// Pipelines returns the current pipelines; those with a schedule fire.
	Pipelines func() []*pipeline.Pipeline
	State     State
	Bus       transport.Bus
	// Now is the clock (time.Now by default); tests set their own.
	Now func() time.Time
	Log *slog.Logger
	// Poll is how often due fires are looked for (1s by default; the
	// fires themselves have a minute's precision, as on AWS).
	Poll time.Duration
	// Grace is how late a fire found at start may be and still count as
	// on time rather than missed (1 minute by default).
	Grace time.Duration
	// MaxCatchUp bounds the fires one look makes for one pipeline (100 by
	// default): beyond it, the oldest are dropped and logged.
	MaxCatchUp int
}

func (c *Config) setDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Grace <= 0 {
		c.Grace = time.Minute
	}
	if c.MaxCatchUp <= 0 {
		c.MaxCatchUp = 100
	}
}

// Scheduler fires schedules. Run one per home: `fusion run` does.
type Scheduler struct {
	cfg     Config
	started bool // the first look, at start, applies each pipeline's missed policy
}

// New makes a scheduler.
func New(cfg Config) (*Scheduler, error) {
	cfg.setDefaults()
	if cfg.Pipelines == nil || cfg.State == nil || cfg.Bus == nil {
		return nil, errors.New("scheduler: needs pipelines, a state and a bus")
	}
	return &Scheduler{cfg: cfg}, nil
}

// Run looks for due fires every Poll until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		s.Check(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Check fires every pipeline's due fires once. The first call is the
// start: fires due more than Grace before now were missed while fusion was
// down, and the pipeline's schedule.missed says whether they fire (oldest
// first) or are skipped. Later calls fire whatever fell due since. A
// pipeline seen for the first time starts counting from now: nothing
// before it fires. Problems are logged; the next Check retries.
func (s *Scheduler) Check(ctx context.Context) {
	atStart := !s.started
	s.started = true
	for _, p := range s.cfg.Pipelines() {
		if p.Schedule == nil || ctx.Err() != nil {
			continue
		}
		if err := s.check(ctx, p, atStart); err != nil && ctx.Err() == nil {
			s.cfg.Log.Error("schedule not fired", "pipeline", p.Name, "schedule", p.Schedule.Expression, "error", err)
		}
	}
}

func (s *Scheduler) check(ctx context.Context, p *pipeline.Pipeline, atStart bool) error {
	expr, err := p.Schedule.Parsed()
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	log := s.cfg.Log.With("pipeline", p.Name, "schedule", p.Schedule.Expression, "timezone", p.Schedule.Zone())
	mark, ok, err := s.cfg.State.ScheduleMark(ctx, p.Name)
	if err != nil {
		return err
	}
	if !ok {
		// No backfill: a new schedule counts from now.
		mark = now.Truncate(time.Minute)
		if err := s.cfg.State.SetScheduleMark(ctx, p.Name, mark); err != nil {
			return err
		}
		log.Info("schedule armed", "next", expr.Next(mark).Format(time.RFC3339))
		return nil
	}
	if atStart {
		log.Info("schedule resumed", "last", mark.Format(time.RFC3339), "next", expr.Next(mark).Format(time.RFC3339))
	}
	due := dueFires(expr, mark, now, s.cfg.MaxCatchUp)
	if due.total == 0 {
		return nil
	}
	fire := due.latest
	if atStart {
		var missed []time.Time
		for len(fire) > 0 && now.Sub(fire[0]) > s.cfg.Grace {
			missed, fire = append(missed, fire[0]), fire[1:]
		}
		nMissed := due.total - len(fire)
		if nMissed > 0 && !p.Schedule.CatchUp() {
			if len(missed) > 0 {
				if err := s.cfg.State.SetScheduleMark(ctx, p.Name, missed[len(missed)-1]); err != nil {
					return err
				}
			}
			log.Warn("missed fires skipped (schedule.missed: skip)", "skipped", countText(nMissed, due.capped),
				"first", due.first.Format(time.RFC3339))
		} else {
			fire = append(missed, fire...)
			if nMissed > 0 {
				log.Info("catching up missed fires (schedule.missed: catch_up)", "missed", countText(nMissed, due.capped),
					"first", due.first.Format(time.RFC3339))
			}
		}
	}
	if dropped := due.total - len(due.latest); dropped > 0 && (!atStart || p.Schedule.CatchUp()) {
		log.Warn("fires dropped beyond the catch-up bound: only the latest fire", "dropped", countText(dropped, due.capped),
			"bound", s.cfg.MaxCatchUp, "oldest_dropped", due.first.Format(time.RFC3339), "first_fired", due.latest[0].Format(time.RFC3339))
	}
	for _, at := range fire {
		run, err := s.Fire(ctx, p, at)
		if err != nil {
			return err
		}
		if err := s.cfg.State.SetScheduleMark(ctx, p.Name, at); err != nil {
			return err
		}
		log.Info("schedule fired", "due", at.Format(time.RFC3339), "run_id", run.RunID)
	}
	return nil
}

// Fire sends the request of the fire due at at — what EventBridge
// Scheduler sends on AWS — and returns the run it starts. It does not move
// the pipeline's mark: firing a due time twice is harmless (the same run).
func (s *Scheduler) Fire(ctx context.Context, p *pipeline.Pipeline, at time.Time) (messages.RunRef, error) {
	rq := Request(p.Name, at)
	env, err := messages.New(rq, at)
	if err != nil {
		return messages.RunRef{}, err
	}
	if err := s.cfg.Bus.Publish(ctx, env); err != nil {
		return messages.RunRef{}, fmt.Errorf("fire %s: %w", rq.RequestID, err)
	}
	return rq.StartRun(env), nil
}

// Request is the ingest request of a pipeline's fire due at at.
func Request(pipelineName string, at time.Time) *messages.IngestRequested {
	return &messages.IngestRequested{Pipeline: pipelineName, RequestID: pipeline.RequestID(at), RequestedBy: RequestedBy,
		Reason: "scheduled for " + at.UTC().Format(time.RFC3339)}
}

// due lists a pipeline's due fires.
type due struct {
	latest []time.Time // the latest ones, oldest first, at most the bound
	total  int         // how many there are
	first  time.Time   // the oldest
	capped bool        // total stopped counting at countCap
}

// countCap bounds how many due fires are counted (an every-minute cron
// down for two years); past it the latest are found from a window before
// now.
const countCap = 1_000_000

// dueFires finds the fires in (mark, now].
func dueFires(e *schedule.Expression, mark, now time.Time, keep int) due {
	var d due
	t := e.Next(mark)
	for ; !t.IsZero() && !t.After(now) && d.total < countCap; t = e.Next(t) {
		if d.total == 0 {
			d.first = t
		}
		d.total++
		d.latest = append(d.latest, t)
		if len(d.latest) > keep {
			d.latest = d.latest[1:]
		}
	}
	if d.total < countCap || t.IsZero() || t.After(now) {
		return d
	}
	d.capped = true
	for window := time.Hour; ; window *= 4 {
		start := now.Add(-window)
		var latest []time.Time
		for u := e.Next(start); !u.IsZero() && !u.After(now); u = e.Next(u) {
			if latest = append(latest, u); len(latest) > keep {
				latest = latest[1:]
			}
		}
		if len(latest) >= keep || start.Before(mark) {
			d.latest = latest
			return d
		}
	}
}

// countText is a count for the logs: the number, or "more than N" when
// counting stopped.
func countText(n int, capped bool) any {
	if capped {
		return fmt.Sprintf("more than %d", n)
	}
	return n
}
