package schemas

// Purposes bind a sealed value (internal/platform/envelope) to its owner: a value sealed for one
// customer or merchant cannot be opened as another's. frontend-api seals with them what it
// receives; activities and the notifier open with them what they need.

// CustomerPurpose binds a customer's sealed profile (email, name) to that customer.
func CustomerPurpose(customerID string) string { return "customer profile " + customerID }

// ProfilePurpose binds a merchant's sealed profile (legal name, contact) to that merchant.
func ProfilePurpose(merchantID string) string { return "merchant profile " + merchantID }
