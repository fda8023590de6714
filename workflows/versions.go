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
// No flag exists yet: the histories in testdata were all recorded by the current code.
