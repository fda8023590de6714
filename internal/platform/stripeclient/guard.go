package stripeclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/form"
	"golang.org/x/time/rate"

	"github.com/durapay/durapay/internal/platform/breaker"
)

// ErrRateLimited wraps the limiter's refusal: the request would have had to wait past its
// context's deadline, or the context ended while it waited. The request was not sent.
var ErrRateLimited = errors.New("rate limit of this worker's Stripe calls")

// guarded is the stripe.Backend under every client New builds. stripe-go sends each request,
// and each page of a list iterator, through one of these methods, so nothing reaches Stripe
// around the limiter and the breaker. Every method is spelt out, none embedded: a method a
// later stripe-go adds to the interface fails to compile here instead of passing unguarded.
type guarded struct {
	next    stripe.Backend
	limiter *rate.Limiter
	breaker *breaker.Breaker
}

func (g *guarded) Call(method, path, key string, params stripe.ParamsContainer, v stripe.LastResponseSetter) error {
	return g.do(containerContext(params), func() error { return g.next.Call(method, path, key, params, v) })
}

func (g *guarded) CallStreaming(method, path, key string, params stripe.ParamsContainer, v stripe.StreamingLastResponseSetter) error {
	return g.do(containerContext(params), func() error { return g.next.CallStreaming(method, path, key, params, v) })
}

func (g *guarded) CallRaw(method, path, key string, body *form.Values, params *stripe.Params, v stripe.LastResponseSetter) error {
	return g.do(paramsContext(params), func() error { return g.next.CallRaw(method, path, key, body, params, v) })
}

func (g *guarded) CallMultipart(method, path, key, boundary string, body *bytes.Buffer, params *stripe.Params, v stripe.LastResponseSetter) error {
	return g.do(paramsContext(params), func() error { return g.next.CallMultipart(method, path, key, boundary, body, params, v) })
}

func (g *guarded) SetMaxNetworkRetries(n int64) { g.next.SetMaxNetworkRetries(n) }

// do sends one request once the limiter lets it, unless the breaker is open (then it
// returns a *breaker.OpenError).
func (g *guarded) do(ctx context.Context, request func() error) error {
	if g.limiter != nil {
		if err := g.limiter.Wait(ctx); err != nil {
			return fmt.Errorf("%w: %w", ErrRateLimited, err)
		}
	}
	if g.breaker == nil {
		return request()
	}
	return g.breaker.Do(request)
}

// containerContext is the request's context. stripe-go passes typed nil parameters (a Get
// without params), on which GetParams would panic; it checks for them the same way.
func containerContext(params stripe.ParamsContainer) context.Context {
	if params == nil {
		return context.Background()
	}
	if v := reflect.ValueOf(params); v.Kind() == reflect.Pointer && v.IsNil() {
		return context.Background()
	}
	return paramsContext(params.GetParams())
}

func paramsContext(p *stripe.Params) context.Context {
	if p == nil || p.Context == nil {
		return context.Background()
	}
	return p.Context
}
