// Package activities holds Durapay's Temporal activities: every call that leaves a workflow
// for the outside world. Stripe calls (Stripe, stripe_*.go) classify Stripe's errors into
// the types of schemas/errors.go; store activities (Store, store_*.go) record state through
// the internal/domain stores; the others publish events, write reports, archive histories
// and anchor the audit log. Their names, requests and results are contracts in schemas
// (activity_*.go); only workers (registration) and workflows (calls) import this package.
package activities
