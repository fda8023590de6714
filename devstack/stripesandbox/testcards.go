package stripesandbox

// testCard is how one of Stripe's documented test PaymentMethods behaves
// (https://docs.stripe.com/testing).
type testCard struct {
	brand string
	last4 string
	// decline, when set, makes every confirmation fail with this card error.
	decline *cardDecline
	// authenticate makes confirmation require 3-D Secure (status requires_action).
	authenticate bool
	// refundFails makes refunds of this card's charges fail after they were created.
	refundFails bool
}

type cardDecline struct {
	code        string // Stripe error code: card_declined, expired_card, ...
	declineCode string
	message     string
}

func declined(declineCode, message string) *cardDecline {
	return &cardDecline{code: "card_declined", declineCode: declineCode, message: message}
}

var testCards = map[string]testCard{
	"pm_card_visa":                            {brand: "visa", last4: "4242"},
	"pm_card_visa_debit":                      {brand: "visa", last4: "5556"},
	"pm_card_mastercard":                      {brand: "mastercard", last4: "4444"},
	"pm_card_mastercard_debit":                {brand: "mastercard", last4: "8210"},
	"pm_card_amex":                            {brand: "amex", last4: "8431"},
	"pm_card_discover":                        {brand: "discover", last4: "1117"},
	"pm_card_jcb":                             {brand: "jcb", last4: "0505"},
	"pm_card_unionpay":                        {brand: "unionpay", last4: "0005"},
	"pm_card_chargeDeclined":                  {brand: "visa", last4: "0002", decline: declined("generic_decline", "Your card was declined.")},
	"pm_card_chargeDeclinedInsufficientFunds": {brand: "visa", last4: "9995", decline: declined("insufficient_funds", "Your card has insufficient funds.")},
	"pm_card_chargeDeclinedLostCard":          {brand: "visa", last4: "9987", decline: declined("lost_card", "Your card was declined.")},
	"pm_card_chargeDeclinedStolenCard":        {brand: "visa", last4: "9979", decline: declined("stolen_card", "Your card was declined.")},
	"pm_card_chargeDeclinedFraudulent":        {brand: "visa", last4: "0019", decline: declined("fraudulent", "Your card was declined.")},
	"pm_card_chargeDeclinedExpiredCard": {brand: "visa", last4: "0069",
		decline: &cardDecline{code: "expired_card", declineCode: "expired_card", message: "Your card has expired."}},
	"pm_card_chargeDeclinedIncorrectCvc": {brand: "visa", last4: "0127",
		decline: &cardDecline{code: "incorrect_cvc", declineCode: "incorrect_cvc", message: "Your card's security code is incorrect."}},
	"pm_card_chargeDeclinedProcessingError": {brand: "visa", last4: "0119",
		decline: &cardDecline{code: "processing_error", declineCode: "processing_error", message: "An error occurred while processing your card. Try again in a little bit."}},
	"pm_card_authenticationRequired": {brand: "visa", last4: "3184", authenticate: true},
	"pm_card_threeDSecure2Required":  {brand: "visa", last4: "3220", authenticate: true},
	"pm_card_refundFail":             {brand: "visa", last4: "5126", refundFails: true},
}
