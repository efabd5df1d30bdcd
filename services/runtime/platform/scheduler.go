package platform

import (
	"context"
	"time"

	"github.com/fusiondata/fusion/services/runtime/scheduler"
)

// Scheduler returns the embedded tier's scheduler of the home: the one
// Run runs beside the ingest worker, firing the pipelines' schedules on the
// platform's bus with its marks in the home's metastore. Its clock is
// Deps.Now, read at each look, so a test can set it before Run. On the aws
// tier EventBridge Scheduler fires the schedules (deploy renders them)
// and nothing here runs.
func (p *Platform) Scheduler() (*scheduler.Scheduler, error) {
	return scheduler.New(scheduler.Config{
		Pipelines: p.Pipelines.All,
		State:     p.meta,
		Bus:       p.Transport.Bus,
		Now:       func() time.Time { return p.Deps.Now() },
		Log:       p.Log.With("component", "scheduler"),
	})
}

// runScheduler runs the scheduler until ctx ends or the returned func,
// which waits for it to stop, is called.
func (p *Platform) runScheduler(ctx context.Context) (stop func()) {
	s, err := p.Scheduler()
	if err != nil {
		p.Log.Error("scheduler not started", "error", err)
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	return func() { cancel(); <-done }
}
