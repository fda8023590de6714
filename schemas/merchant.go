package schemas

import "time"

// Merchant onboarding and customers.
const (
	OnboardingWorkflowName = "OnboardingWorkflow"
	// UpdateReviewMerchant is an operator's decision on a merchant (ReviewDecision ->
	// OnboardingState); SignalReviewMerchant the same, fire-and-forget, for the Temporal UI.
	UpdateReviewMerchant = "ReviewMerchant"
	SignalReviewMerchant = "ReviewMerchantSignal"
	// UpdateOnboardingStarted is sent with Update-With-Start; it answers once the merchant,
	// its Connect account and its first KYC link exist.
	UpdateOnboardingStarted = "OnboardingStarted"
	QueryOnboarding         = "Onboarding"

	CustomerWorkflowName = "CreateCustomer"

	// TopicMerchants carries merchant.* events, keyed by merchant ID.
	TopicMerchants = "durapay.merchants.v1"

	MerchantEventSchemaVersion = 1
)

// Merchant events: what the notification service turns into emails (onboarding link,
// reminders, welcome) and what other systems follow.
const (
	EventMerchantOnboardingStarted = "merchant.onboarding_started"
	EventMerchantOnboardingLink    = "merchant.onboarding_link"
	EventMerchantReminder          = "merchant.onboarding_reminder"
	EventMerchantKYCCompleted      = "merchant.kyc_completed"
	EventMerchantActivated         = "merchant.activated"
	EventMerchantRejected          = "merchant.rejected"
	EventMerchantExpired           = "merchant.onboarding_expired"
)

// MerchantStatus is where a merchant is in its life.
type MerchantStatus string

const (
	// MerchantOnboarding: KYC at Stripe is under way.
	MerchantOnboarding MerchantStatus = "onboarding"
	// MerchantPendingReview: Stripe enabled charges; an operator decides.
	MerchantPendingReview MerchantStatus = "pending_review"
	MerchantActive        MerchantStatus = "active"
	MerchantRejected      MerchantStatus = "rejected"
	MerchantExpired       MerchantStatus = "expired"
)

// Final reports whether the onboarding is over.
func (s MerchantStatus) Final() bool {
	return s == MerchantActive || s == MerchantRejected || s == MerchantExpired
}

// OnboardingInput starts (or, after continue-as-new, continues) an OnboardingWorkflow.
// Personal data travels sealed (SealedProfile, internal/platform/envelope): the workflow never sees
// it in clear.
type OnboardingInput struct {
	MerchantID    string
	Country       string
	BusinessType  string
	SealedProfile []byte
	RequestHash   string
	// CreatedBy is who created the merchant (a staff member, or an invitation); InvitedBy
	// who issued the invitation. Neither may approve it.
	CreatedBy string
	InvitedBy string
	Policy    OnboardingPolicy
	// State is carried across continue-as-new; nil on the first run.
	State *OnboardingState
	// EventSeq numbers the events published so far (their IDs), across runs.
	EventSeq int64
}

// OnboardingPolicy is fixed when an onboarding starts.
type OnboardingPolicy struct {
	// Reminders are sent this long after the start while KYC is incomplete (1, 3, 7 days).
	Reminders []time.Duration
	// Expiry ends an onboarding that has not been decided (30 days).
	Expiry time.Duration
	// RefreshURL and ReturnURL are the account links' URLs.
	RefreshURL, ReturnURL string
	// ContinueAsNewAfter bounds the history: past this many events, the workflow starts a
	// fresh run with its state.
	ContinueAsNewAfter int
}

// Defaults of OnboardingPolicy.
var DefaultOnboardingReminders = []time.Duration{24 * time.Hour, 72 * time.Hour, 7 * 24 * time.Hour}

const (
	DefaultOnboardingExpiry   = 30 * 24 * time.Hour
	DefaultContinueAsNewAfter = 2000
)

// OnboardingState is the onboarding as operators (and the merchant) see it.
type OnboardingState struct {
	Merchant        string         `json:"merchant"`
	Status          MerchantStatus `json:"status"`
	StripeAccountID string         `json:"stripe_account,omitempty"`
	ChargesEnabled  bool           `json:"charges_enabled"`
	// CurrentlyDue is what Stripe still needs from the merchant.
	CurrentlyDue []string `json:"currently_due"`
	// LinkURL is the latest account link for the merchant's KYC, until LinkExpires.
	LinkURL       string `json:"onboarding_link,omitempty"`
	LinkExpires   int64  `json:"onboarding_link_expires,omitempty"`
	Links         int    `json:"links_issued"`
	RemindersSent int    `json:"reminders_sent"`
	Started       int64  `json:"started"`
	ExpiresAt     int64  `json:"expires_at"`
	DecidedBy     string `json:"decided_by,omitempty"`
	Reason        string `json:"reason,omitempty"`
	Decided       int64  `json:"decided,omitempty"`
	// SecretKeyID names the secret key issued on approval. Its secret reaches the merchant's
	// contact address by a single-use link (merchants.RevealKey), never the operator.
	SecretKeyID string `json:"secret_key_id,omitempty"`
	// Attention is set while a Stripe step that its retries could not complete waits for
	// an operator to retry it or reject the merchant. Events never carry it.
	Attention *Attention `json:"attention,omitempty"`
}

// Review decisions; an onboarding waiting for an operator also takes DecisionRetry.
const (
	DecisionApprove = "approve"
	DecisionReject  = "reject"
)

// ReviewDecision is the argument of UpdateReviewMerchant and SignalReviewMerchant.
type ReviewDecision struct {
	Decision string `json:"decision"`
	Operator string `json:"operator"`
	Reason   string `json:"reason"`
}

// CustomerInput creates a merchant's customer: a Stripe Customer and Durapay's record.
type CustomerInput struct {
	CustomerID     string
	MerchantID     string
	SealedProfile  []byte // email and name, sealed for this customer
	Description    string
	Metadata       map[string]string
	IdempotencyKey string
	RequestHash    string
}

// Customer is a customer as merchants see it; personal data is not repeated here.
type Customer struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Merchant         string            `json:"merchant"`
	StripeCustomerID string            `json:"stripe_customer"`
	Description      string            `json:"description,omitempty"`
	Metadata         map[string]string `json:"metadata"`
	Created          int64             `json:"created"`
}

// CustomerProfile is a customer's personal data, sealed at rest.
type CustomerProfile struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// MerchantProfile is a merchant's personal data, sealed at rest.
type MerchantProfile struct {
	LegalName    string `json:"legal_name"`
	ContactEmail string `json:"contact_email"`
	ContactPhone string `json:"contact_phone"`
}
