package timeline

import (
	"errors"
	"fmt"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/durapay/durapay/schemas/money"
)

// dataConverter reads payloads as the workers' converter writes them, before the codec
// encrypts them: Render is given histories already decrypted (payloadcodec.DecodeHistory).
var dataConverter = converter.GetDefaultDataConverter()

var errNoPayload = errors.New("no payload")

// decode reads the first payload into v. Unlike FromPayloads it fails on a missing payload:
// a line built from zero values would state something that did not happen.
func decode(p *commonpb.Payloads, v any) error {
	if len(p.GetPayloads()) == 0 {
		return errNoPayload
	}
	return dataConverter.FromPayloads(p, v)
}

func decodeOne(p *commonpb.Payload, v any) error {
	if p == nil {
		return errNoPayload
	}
	return dataConverter.FromPayload(p, v)
}

// amount formats minor units in their currency's major units ("20.00 USD"). Without a known
// currency it shows the minor units as they are: never an amount 100 times off.
func amount(minor int64, currency string) string {
	c, err := money.ParseCurrency(currency)
	switch {
	case err == nil:
		return money.Amount{Minor: minor, Currency: c}.String()
	case currency == "":
		return fmt.Sprintf("%d (minor units)", minor)
	default:
		return fmt.Sprintf("%d %s (minor units)", minor, strings.ToUpper(currency))
	}
}

// shortDuration rounds a timer's duration for reading. Workflows wait until a deadline, so
// the timer of an 8-second timeout set a few milliseconds after it began lasts 7.9043s;
// rounded, it reads as the policy that set it.
func shortDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Second).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	default:
		return d.String()
	}
}

// failureText says why Stripe refused a payment: "card_declined (generic_decline): Your card
// was declined."
func failureText(code, declineCode, message string) string {
	s := code
	if declineCode != "" {
		s += " (" + declineCode + ")"
	}
	if message != "" && s != "" {
		s += ": "
	}
	return s + message
}
