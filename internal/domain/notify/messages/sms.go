package messages

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/durapay/durapay/schemas/money"
)

const (
	smsTemplate = "sms"
	// smsLimit is one SMS segment in GSM-7. Every character SMS can emit is in GSM-7, so
	// the text is never sent as UCS-2, whose segments hold only 70 characters.
	smsLimit = 160
	// maxWords caps the words taken from an event type, so that the text around the ID
	// always fits in one segment.
	maxWords = 32
)

// objectIDPattern is the shape of Durapay's and Stripe's IDs (pay_..., rfd_..., re_...).
// An "ID" of any other shape, such as an email address or a phone number passed by mistake,
// is left out: SMS carries no personal data.
var objectIDPattern = regexp.MustCompile(`^[a-z]{2,8}_[A-Za-z0-9]+$`)

type smsView struct {
	Object, ID, Amount, Action string
}

// SMS is the text sent to a merchant about an event it enabled for SMS:
// "Durapay: payment pay_x of $12.34 succeeded". It names only the event, the object's ID and
// the amount (left out when zero or in an unknown currency), never the merchant, customer or
// description, and fits one GSM-7 segment: an ID too long is cut, and marked "...".
func SMS(eventType, objectID string, amount int64, currency string) string {
	v := smsView{}
	v.Object, v.Action = eventWords(eventType)
	if objectIDPattern.MatchString(objectID) {
		v.ID = objectID
	}
	if _, err := money.ParseCurrency(currency); err == nil && amount > 0 {
		v.Amount = FormatAmount(amount, currency)
	}
	s := renderSMS(v)
	if over := septets(s) - smsLimit; over > 0 {
		// The ID is ASCII, one septet a character.
		keep := len(v.ID) - over - len("...")
		if keep < len("pay_")+4 {
			v.ID = ""
		} else {
			v.ID = v.ID[:keep] + "..."
		}
		s = renderSMS(v)
	}
	return s
}

func renderSMS(v smsView) string {
	var b strings.Builder
	if err := textTemplates.ExecuteTemplate(&b, smsTemplate, v); err != nil {
		// The view holds strings only, so this is a broken template, which the tests catch.
		panic("messages: SMS template: " + err.Error())
	}
	return oneLine(b.String())
}

// eventWords splits an event type at its last dot into what it is about and what happened:
// "payment.succeeded" -> "payment", "succeeded"; "merchant.onboarding_reminder" ->
// "merchant", "onboarding reminder". Only letters survive, lowercased: event types have no
// digits, and without them nothing here can spell a phone number.
func eventWords(eventType string) (object, action string) {
	object, action = eventType, ""
	if i := strings.LastIndexByte(eventType, '.'); i >= 0 {
		object, action = eventType[:i], eventType[i+1:]
	}
	object = words(object)
	if object == "" {
		object = "event"
	}
	return object, words(action)
}

func words(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		default:
			return ' '
		}
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxWords {
		s = strings.TrimSpace(s[:maxWords])
	}
	return s
}

// septets counts GSM-7 septets: the characters of the extension table take two.
func septets(s string) int {
	n := 0
	for _, r := range s {
		n++
		if strings.ContainsRune("^{}\\[]~|€\f", r) {
			n++
		}
	}
	return n
}

// PhoneCode is the text that verifies a merchant's contact number: the code, and nothing
// else Durapay knows.
func PhoneCode(code string, valid time.Duration) string {
	return fmt.Sprintf("Durapay: your verification code is %s. It expires in %d minutes. Never share it.", code, int(valid.Minutes()))
}
