package schemas

// The onboarding activities' contract: merchants, their recorded state and their activation.
// Registered names live in stored histories: never rename one.

// ActivateMerchantName is the activity's registered name.
const ActivateMerchantName = "onboarding.ActivateMerchant"

// ActivateMerchantRequest activates an approved merchant.
type ActivateMerchantRequest struct {
	MerchantID string
	Country    string
}

// CreateMerchantName is the activity's registered name.
const CreateMerchantName = "onboarding.CreateMerchant"

// CreateMerchantRequest is a new merchant.
type CreateMerchantRequest struct {
	Input      OnboardingInput
	WorkflowID string
}

// RecordOnboardingName is the activity's registered name.
const RecordOnboardingName = "onboarding.Record"
