// Package messages renders what the notification service sends: emails to a merchant's
// customers (receipts, refunds), emails to a merchant's contact (onboarding, welcome), and
// the SMS texted to a merchant about the events it enabled.
//
// The words live in templates/*.tmpl, embedded in the binary and parsed when the package is
// initialised: a template that does not parse, or a kind missing one of its three parts,
// stops the process at start instead of failing the first send. Subjects, plain-text bodies
// and SMS use text/template; HTML bodies use html/template, which escapes every string a
// merchant or customer supplied and refuses links that are not http(s).
//
// Amounts arrive in minor units and are formatted through schemas/money, never through
// floats. Dates are shown in UTC.
package messages

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"github.com/durapay/durapay/schemas/money"
)

// Kind names an email. Its value is stable (fit to store) and names the templates
// <kind>.subject, <kind>.text and <kind>.html.
type Kind string

const (
	// KindReceipt goes to a customer after payment.succeeded.
	KindReceipt Kind = "receipt"
	// KindRefund goes to a customer after refund.succeeded.
	KindRefund Kind = "refund"
	// KindOnboardingLink gives a merchant's contact the link to continue KYC.
	KindOnboardingLink Kind = "onboarding_link"
	// KindOnboardingReminder repeats the link while KYC is unfinished.
	KindOnboardingReminder Kind = "onboarding_reminder"
	// KindWelcome tells a merchant's contact that the merchant is active.
	KindWelcome Kind = "welcome"
	// KindKeyLink gives a merchant's contact the single-use link to its secret key.
	KindKeyLink Kind = "key_link"
)

// kinds lists every Kind, for the check at init.
var kinds = []Kind{KindReceipt, KindRefund, KindOnboardingLink, KindOnboardingReminder, KindWelcome, KindKeyLink}

// ErrInvalid: the data cannot make a correct message (a missing ID, an unknown currency, a
// link that is not http(s)). Rendering it again will not help.
var ErrInvalid = errors.New("invalid message data")

// Email is one rendered email. Subject is a single line.
type Email struct {
	Subject, Text, HTML string
}

// Payment is what a receipt says about a payment.
type Payment struct {
	ID     string
	Amount int64 // minor units
	// Currency is an ISO 4217 code in any case ("usd").
	Currency    string
	Description string
	Created     time.Time
	// Captured is the amount actually taken, in minor units; zero means all of Amount.
	// A partial capture's receipt shows what was taken, not what was authorised.
	Captured int64
}

// Refund is what a refund email says about a refund.
type Refund struct {
	ID        string
	PaymentID string
	Amount    int64 // minor units
	Currency  string
}

// Merchant is the business on whose behalf (or to whose contact) Durapay writes.
type Merchant struct {
	Name string // legal name
	ID   string
}

// Customer is the recipient of a receipt or refund email. Name may be empty.
type Customer struct {
	Name string
}

// Onboarding is the state of a merchant's KYC that the onboarding emails report.
type Onboarding struct {
	// LinkURL is the KYC link; it must be an absolute http(s) URL.
	LinkURL string
	// LinkExpires is when LinkURL stops working (zero: not shown).
	LinkExpires time.Time
	// ExpiresAt is when the onboarding itself expires (zero: not shown, except that a
	// reminder requires it).
	ExpiresAt time.Time
	// Reminder numbers a reminder, from 1.
	Reminder int
}

//go:embed templates/*.tmpl
var templateFiles embed.FS

var textTemplates, htmlTemplates = mustParse()

func mustParse() (*texttemplate.Template, *htmltemplate.Template) {
	t, h, err := parseTemplates(templateFiles)
	if err != nil {
		panic(err)
	}
	return t, h
}

// parseTemplates parses templates/*.txt.tmpl with text/template and templates/*.html.tmpl
// with html/template, and checks that every kind has its subject, text and HTML, and that
// the SMS template exists.
func parseTemplates(fsys fs.FS) (*texttemplate.Template, *htmltemplate.Template, error) {
	t, err := texttemplate.New("").ParseFS(fsys, "templates/*.txt.tmpl")
	if err != nil {
		return nil, nil, fmt.Errorf("messages: parse text templates: %w", err)
	}
	h, err := htmltemplate.New("").ParseFS(fsys, "templates/*.html.tmpl")
	if err != nil {
		return nil, nil, fmt.Errorf("messages: parse HTML templates: %w", err)
	}
	var missing []string
	for _, k := range kinds {
		for _, name := range []string{string(k) + ".subject", string(k) + ".text"} {
			if t.Lookup(name) == nil {
				missing = append(missing, name)
			}
		}
		if h.Lookup(string(k)+".html") == nil {
			missing = append(missing, string(k)+".html")
		}
	}
	if t.Lookup(smsTemplate) == nil {
		missing = append(missing, smsTemplate)
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("messages: templates not defined: %s", strings.Join(missing, ", "))
	}
	return t, h, nil
}

// view is what every email template sees: the facts already formatted, so that templates
// choose only words and layout.
type view struct {
	// Brand heads the HTML: the merchant in its customers' emails, Durapay in the
	// merchant's own.
	Brand        string
	MerchantName string
	MerchantID   string
	CustomerName string

	PaymentID     string
	PaymentAmount string
	PaymentDate   string
	Description   string

	RefundID     string
	RefundAmount string

	LinkURL     string
	LinkExpires string
	ExpiresOn   string
	Reminder    int
}

// Receipt is the email to a customer after payment.succeeded.
func Receipt(m Merchant, c Customer, p Payment) (Email, error) {
	v, err := paymentView(m, c, p)
	if err != nil {
		return Email{}, fmt.Errorf("receipt: %w", err)
	}
	return render(KindReceipt, v)
}

// RefundEmail is the email to a customer after refund.succeeded; p is the refunded payment.
func RefundEmail(m Merchant, c Customer, r Refund, p Payment) (Email, error) {
	v, err := paymentView(m, c, p)
	if err != nil {
		return Email{}, fmt.Errorf("refund email: %w", err)
	}
	a, err := money.NewAmount(r.Amount, r.Currency)
	switch {
	case err != nil:
		return Email{}, fmt.Errorf("refund email: %w: refund amount: %w", ErrInvalid, err)
	case r.ID == "":
		return Email{}, fmt.Errorf("refund email: %w: no refund ID", ErrInvalid)
	case r.PaymentID != p.ID:
		return Email{}, fmt.Errorf("refund email: %w: refund %s is of payment %q, not %s", ErrInvalid, r.ID, r.PaymentID, p.ID)
	case !strings.EqualFold(strings.TrimSpace(p.Currency), string(a.Currency)):
		return Email{}, fmt.Errorf("refund email: %w: %w", ErrInvalid, money.ErrCurrencyMismatch)
	}
	v.RefundID, v.RefundAmount = r.ID, FormatAmount(a.Minor, string(a.Currency))
	return render(KindRefund, v)
}

// OnboardingLink is the email giving a merchant's contact the link to continue onboarding.
func OnboardingLink(m Merchant, o Onboarding) (Email, error) {
	v, err := onboardingView(m, o)
	if err != nil {
		return Email{}, fmt.Errorf("onboarding link email: %w", err)
	}
	return render(KindOnboardingLink, v)
}

// OnboardingReminder is OnboardingLink as a reminder: it needs the reminder's number and
// when the onboarding expires.
func OnboardingReminder(m Merchant, o Onboarding) (Email, error) {
	v, err := onboardingView(m, o)
	switch {
	case err != nil:
	case o.Reminder < 1:
		err = fmt.Errorf("%w: reminder number %d", ErrInvalid, o.Reminder)
	case o.ExpiresAt.IsZero():
		err = fmt.Errorf("%w: no onboarding expiry", ErrInvalid)
	}
	if err != nil {
		return Email{}, fmt.Errorf("onboarding reminder email: %w", err)
	}
	return render(KindOnboardingReminder, v)
}

// Welcome is the email telling a merchant's contact that the merchant is active.
func Welcome(m Merchant) (Email, error) {
	if err := checkMerchant(m); err != nil {
		return Email{}, fmt.Errorf("welcome email: %w", err)
	}
	return render(KindWelcome, view{Brand: "Durapay", MerchantName: m.Name, MerchantID: m.ID})
}

// KeyLink is the email with the single-use link to a merchant's secret key, valid until
// expires.
func KeyLink(m Merchant, linkURL string, expires time.Time) (Email, error) {
	v, err := onboardingView(m, Onboarding{LinkURL: linkURL, LinkExpires: expires})
	if err != nil {
		return Email{}, fmt.Errorf("key link email: %w", err)
	}
	return render(KindKeyLink, v)
}

func checkMerchant(m Merchant) error {
	if strings.TrimSpace(m.Name) == "" {
		return fmt.Errorf("%w: no merchant name", ErrInvalid)
	}
	return nil
}

func paymentView(m Merchant, c Customer, p Payment) (view, error) {
	if err := checkMerchant(m); err != nil {
		return view{}, err
	}
	taken := p.Amount
	if p.Captured != 0 {
		taken = p.Captured
	}
	a, err := money.NewAmount(taken, p.Currency)
	switch {
	case err != nil:
		return view{}, fmt.Errorf("%w: payment amount: %w", ErrInvalid, err)
	case p.ID == "":
		return view{}, fmt.Errorf("%w: no payment ID", ErrInvalid)
	case p.Created.IsZero():
		return view{}, fmt.Errorf("%w: no payment date", ErrInvalid)
	}
	return view{
		Brand:         m.Name,
		MerchantName:  m.Name,
		MerchantID:    m.ID,
		CustomerName:  strings.TrimSpace(c.Name),
		PaymentID:     p.ID,
		PaymentAmount: FormatAmount(a.Minor, string(a.Currency)),
		PaymentDate:   day(p.Created),
		Description:   strings.TrimSpace(p.Description),
	}, nil
}

func onboardingView(m Merchant, o Onboarding) (view, error) {
	if err := checkMerchant(m); err != nil {
		return view{}, err
	}
	// html/template would neutralise a javascript: link, but an email whose only link is
	// "#ZgotmplZ" is still broken: refuse it here.
	u, err := url.Parse(o.LinkURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// The link is a bearer credential for the merchant's KYC: keep it out of errors.
		return view{}, fmt.Errorf("%w: onboarding link is not an absolute http(s) URL", ErrInvalid)
	}
	v := view{Brand: "Durapay", MerchantName: m.Name, MerchantID: m.ID, LinkURL: o.LinkURL, Reminder: o.Reminder}
	if !o.LinkExpires.IsZero() {
		// Stripe's links last minutes, so the time matters as much as the day.
		v.LinkExpires = o.LinkExpires.UTC().Format("15:04 UTC on 2 January 2006")
	}
	if !o.ExpiresAt.IsZero() {
		v.ExpiresOn = day(o.ExpiresAt)
	}
	return v, nil
}

func render(k Kind, v view) (Email, error) {
	var subject, text, html strings.Builder
	if err := textTemplates.ExecuteTemplate(&subject, string(k)+".subject", v); err != nil {
		return Email{}, fmt.Errorf("%s subject: %w", k, err)
	}
	if err := textTemplates.ExecuteTemplate(&text, string(k)+".text", v); err != nil {
		return Email{}, fmt.Errorf("%s text: %w", k, err)
	}
	if err := htmlTemplates.ExecuteTemplate(&html, string(k)+".html", v); err != nil {
		return Email{}, fmt.Errorf("%s HTML: %w", k, err)
	}
	return Email{Subject: oneLine(subject.String()), Text: text.String(), HTML: html.String()}, nil
}

// oneLine makes a subject a single header line whatever a merchant put in its name.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
}

func day(t time.Time) string { return t.UTC().Format("2 January 2006") }
