package platform

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/lake"
)

// watchLanding is the embedded lake's bucket notification: it polls the
// landing zone and publishes S3's "Object Created" event for each new
// file, as S3 does through EventBridge. A file is announced once it has
// stopped changing for one poll. Files still in landing after a restart
// are announced again with the same sequencer, so their runs resume under
// the same run id.
func (p *Platform) watchLanding(ctx context.Context) {
	interval := p.Config.LandingPoll
	type seen struct {
		etag      string
		announced bool
	}
	known := map[string]*seen{}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		objs, err := p.local.List(ctx, lake.Landing+"/")
		if err != nil {
			p.Log.Error("landing: list", "error", err)
		}
		present := map[string]bool{}
		for _, o := range objs {
			if hidden(o.Key) {
				continue
			}
			present[o.Key] = true
			s, ok := known[o.Key]
			switch {
			case !ok || s.etag != o.ETag:
				known[o.Key] = &seen{etag: o.ETag} // new or still changing: wait a poll
			case !s.announced:
				if err := p.announce(ctx, o); err != nil {
					p.Log.Error("landing: announce", "key", o.Key, "error", err)
					continue
				}
				s.announced = true
			}
		}
		for k := range known {
			if !present[k] {
				delete(known, k)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// hidden skips dot files and editors' temporaries.
func hidden(key string) bool {
	base := key[strings.LastIndexByte(key, '/')+1:]
	return strings.HasPrefix(base, ".") || strings.HasSuffix(base, ".tmp") || strings.HasSuffix(base, "~")
}

func (p *Platform) announce(ctx context.Context, o lake.Object) error {
	seq := fmt.Sprintf("%016X", o.Modified.UnixNano())
	env, err := messages.NewObjectCreated(p.Lake.Bucket(), messages.CreatedObject{Key: o.Key, Size: o.Size, ETag: o.ETag, Sequencer: seq}, o.Modified)
	if err != nil {
		return err
	}
	p.Log.Info("landed", "key", o.Key, "size", o.Size)
	return p.Transport.Bus.Publish(ctx, env)
}
