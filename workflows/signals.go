package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// bufferStripeEvents appends every Stripe event signalled to the workflow to *into as it
// arrives; the workflow's main loop applies them, in order, when it is ready to.
func bufferStripeEvents(ctx workflow.Context, into *[]schemas.StripeEventSignal) {
	events := workflow.GetSignalChannel(ctx, schemas.SignalStripeEvent)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var ev schemas.StripeEventSignal
			events.Receive(ctx, &ev)
			*into = append(*into, ev)
		}
	})
}
