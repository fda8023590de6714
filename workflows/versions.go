package workflows

// Version flags live in this file. Workflow histories outlive the code that wrote them: a
// change to what a workflow does (another activity, a different order, a new timer) must keep
// replaying the histories already recorded (testdata/histories, replayed by
// TestReplayRecordedHistories). Such a change goes behind a flag declared here, one constant
// per change, never renamed:
//
//	// changeRefundLock: refunds take the payment's lock (2027-01).
//	const changeRefundLock = "refund-lock"
//
//	if workflow.GetVersion(ctx, changeRefundLock, workflow.DefaultVersion, 1) >= 1 {
//		// new behaviour
//	} else {
//		// old behaviour, for payments that started before the change
//	}
//
// then `make histories` records the new behaviour beside the old histories. A flag is
// removed only once no open workflow can still take the old branch.
//
// changeOnboardingParks: a Stripe step of an onboarding that its retries cannot complete
// waits for an operator instead of failing the workflow (2026-11). Only that failure path
// records the marker, so onboardings that never failed replay as before.
const changeOnboardingParks = "onboarding-parks-stripe-steps"

// changeDecisionsAudited: an operator's decision on a parked payment or refund is recorded in
// the audit log by the workflow applying it, so that decisions sent from the Temporal UI or
// CLI are audited too (2026-12). Only a parked workflow's decision records the marker.
const changeDecisionsAudited = "operator-decisions-audited"

// changeRefundParks: a refund's Stripe create that its retries cannot complete waits for an
// operator, as a payment's does, instead of trying again at once under a new key (2026-12).
// Only that failure path records the marker.
const changeRefundParks = "refund-parks-stripe-steps"
