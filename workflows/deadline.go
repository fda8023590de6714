package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// deadline is one timer for a moment in workflow time, armed again only when the moment
// changes. (workflow.AwaitWithTimeout in a loop would leave a timer behind each time it
// returns early: this SDK version does not cancel it.)
type deadline struct {
	at     time.Time
	fired  bool
	gen    int
	cancel workflow.CancelFunc
}

// set arms the deadline for at, unless it is armed for at already.
func (d *deadline) set(ctx workflow.Context, at time.Time) {
	if d.cancel != nil && d.at.Equal(at) {
		return
	}
	d.stop()
	d.gen++
	d.at, d.fired = at, false
	wait := at.Sub(workflow.Now(ctx))
	if wait <= 0 {
		d.fired = true
		return
	}
	tctx, cancel := workflow.WithCancel(ctx)
	d.cancel = cancel
	timer, gen := workflow.NewTimer(tctx, wait), d.gen
	workflow.Go(ctx, func(ctx workflow.Context) {
		if timer.Get(ctx, nil) == nil && d.gen == gen {
			d.fired = true
		}
	})
}

// stop cancels the armed timer, if any.
func (d *deadline) stop() {
	if d.cancel != nil {
		d.cancel()
		d.cancel = nil
	}
}

// timeOf is a Unix time in seconds as a time.Time.
func timeOf(unix int64) time.Time { return time.Unix(unix, 0) }
