package activities

import (
	"context"
	"errors"
	"strings"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
)

// WorkerInterceptors are what every worker running Durapay's activities installs (workers/,
// and the tests that run activities as the workers do).
func WorkerInterceptors() []interceptor.WorkerInterceptor {
	return []interceptor.WorkerInterceptor{&errorBoundary{}}
}

// errorBoundary keeps an activity's error classification however the activity wrapped it.
// The SDK turns an activity's error into a Temporal failure by the type of the outermost
// error alone: fmt.Errorf("list: %w", ClassifyStripeError(err)) would reach the workflow as
// a retryable failure of type "wrapError", the type, non-retryable flag, details and retry
// delay buried in its cause, and a refusal no retry can fix would be retried. With the
// boundary, activities wrap errors with context like any Go code. It runs for local
// activities too.
type errorBoundary struct {
	interceptor.WorkerInterceptorBase
}

func (*errorBoundary) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &errorBoundaryInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type errorBoundaryInbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (b *errorBoundaryInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := b.Next.ExecuteActivity(ctx, in)
	return res, surfaceClassification(err)
}

// surfaceClassification returns err as an application error of the type, non-retryable
// flag, details, retry delay and category of the first application error it wraps, under
// err's whole message. An error that is a Temporal error itself, or wraps none, the SDK
// converts as it is.
func surfaceClassification(err error) error {
	// A type switch, not errors.As: the outermost type is what the SDK looks at.
	switch err.(type) {
	case nil, *temporal.ApplicationError, *temporal.CanceledError, *temporal.TimeoutError, *temporal.PanicError:
		return err
	}
	var classified *temporal.ApplicationError
	if !errors.As(err, &classified) {
		return err
	}
	return temporal.NewApplicationErrorWithOptions(
		// The wrapping context, then the classified error's own message: its Error() would
		// repeat the type and the cause, which the new error carries anyway.
		strings.Replace(err.Error(), classified.Error(), classified.Message(), 1),
		classified.Type(),
		temporal.ApplicationErrorOptions{
			NonRetryable:   classified.NonRetryable(),
			Cause:          classified.Unwrap(),
			Details:        detailsOf(classified),
			NextRetryDelay: classified.NextRetryDelay(),
			Category:       classified.Category(),
		})
}

// detailsOf returns an application error's details, which it keeps unexported. Details fills
// as many pointers as it is given and refuses more than it holds (or, for details decoded
// from a failure, leaves the extra ones nil): asking for one more each time finds them all.
func detailsOf(e *temporal.ApplicationError) []any {
	var values []any
	for e.HasDetails() {
		next := make([]any, len(values)+1)
		ptrs := make([]any, len(next))
		for i := range next {
			ptrs[i] = &next[i]
		}
		if e.Details(ptrs...) != nil || next[len(next)-1] == nil {
			break
		}
		values = next
	}
	return values
}
