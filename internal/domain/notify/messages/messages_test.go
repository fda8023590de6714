package messages

import (
	"errors"
	"io/fs"
	"maps"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"pgregory.net/rapid"

	"github.com/durapay/durapay/schemas/money"
)

var (
	acme           = Merchant{Name: "Acme Coffee Roasters Ltd", ID: "mer_k3v9q2x7m4p8r6t2w5y1z3ab"}
	jane           = Customer{Name: "Jane Doe"}
	paidAt         = time.Date(2026, 3, 14, 23, 30, 0, 0, time.FixedZone("EST", -5*3600)) // 15 March in UTC
	coffee         = Payment{ID: "pay_q7x2m4k9v3p8r6t2w5y1z3ab", Amount: 123456, Currency: "usd", Description: "2 bags of espresso beans", Created: paidAt}
	partial        = Refund{ID: "rfd_a2b3c4d5e6f7g2h3i4j5k6l7", PaymentID: coffee.ID, Amount: 2000, Currency: "USD"}
	kycLink        = "https://connect.stripe.com/setup/e/acct_1Nv0FGQ9RKHgCVdK/hW7Bq4YJ3wKc"
	keyLink        = "https://api.durapay.example/merchant/key?token=klt_7Hq2"
	kyc            = Onboarding{LinkURL: kycLink, LinkExpires: time.Date(2026, 3, 1, 9, 5, 0, 0, time.UTC), ExpiresAt: time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC), Reminder: 2}
	hostile        = Merchant{Name: "<script>alert(1)</script>", ID: "mer_x"}
	teaAndBiscuits = Payment{ID: "pay_1", Amount: 500, Currency: "eur", Description: "Tea & biscuits", Created: paidAt}
)

func TestTemplatesParse(t *testing.T) {
	t.Parallel()
	if _, _, err := parseTemplates(templateFiles); err != nil {
		t.Fatal(err)
	}
}

// TestBrokenTemplatesAreRefused: what init would panic on.
func TestBrokenTemplatesAreRefused(t *testing.T) {
	t.Parallel()
	complete := fstest.MapFS{}
	for _, name := range []string{"layout.txt.tmpl", "layout.html.tmpl", "sms.txt.tmpl"} {
		b, err := fs.ReadFile(templateFiles, "templates/"+name)
		if err != nil {
			t.Fatal(err)
		}
		complete["templates/"+name] = &fstest.MapFile{Data: b}
	}
	for _, k := range kinds {
		complete["templates/"+string(k)+".txt.tmpl"] = &fstest.MapFile{Data: []byte(`{{define "` + string(k) + `.subject"}}s{{end}}{{define "` + string(k) + `.text"}}t{{end}}`)}
		complete["templates/"+string(k)+".html.tmpl"] = &fstest.MapFile{Data: []byte(`{{define "` + string(k) + `.html"}}h{{end}}`)}
	}
	if _, _, err := parseTemplates(complete); err != nil {
		t.Fatalf("the complete set: %v", err)
	}
	tests := []struct {
		name, file, text, wantErr string
	}{
		{"text syntax", "templates/receipt.txt.tmpl", `{{define "receipt.subject"}}{{.MerchantName}{{end}}`, "parse text templates"},
		{"HTML syntax", "templates/welcome.html.tmpl", `{{define "welcome.html"}}{{if .MerchantName}}{{end}}`, "parse HTML templates"},
		{"kind without HTML", "templates/refund.html.tmpl", `{{define "refund.htm"}}{{end}}`, "refund.html"},
		{"kind without subject", "templates/welcome.txt.tmpl", `{{define "welcome.text"}}t{{end}}`, "welcome.subject"},
		{"no SMS", "templates/sms.txt.tmpl", ``, "not defined: sms"},
	}
	for _, tt := range tests {
		broken := maps.Clone(complete)
		broken[tt.file] = &fstest.MapFile{Data: []byte(tt.text)}
		if _, _, err := parseTemplates(broken); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error = %v, want one mentioning %q", tt.name, err, tt.wantErr)
		}
	}
}

// renderAll builds every kind of email for one merchant, customer and payment.
func renderAll(t *testing.T, m Merchant, c Customer, p Payment) map[Kind]Email {
	t.Helper()
	r := Refund{ID: "rfd_1", PaymentID: p.ID, Amount: p.Amount, Currency: p.Currency}
	out := map[Kind]Email{}
	for k, f := range map[Kind]func() (Email, error){
		KindReceipt:            func() (Email, error) { return Receipt(m, c, p) },
		KindRefund:             func() (Email, error) { return RefundEmail(m, c, r, p) },
		KindOnboardingLink:     func() (Email, error) { return OnboardingLink(m, kyc) },
		KindOnboardingReminder: func() (Email, error) { return OnboardingReminder(m, kyc) },
		KindWelcome:            func() (Email, error) { return Welcome(m) },
		KindKeyLink:            func() (Email, error) { return KeyLink(m, keyLink, kyc.LinkExpires) },
	} {
		e, err := f()
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		out[k] = e
	}
	if len(out) != len(kinds) {
		t.Fatalf("rendered %d kinds, the package has %d", len(out), len(kinds))
	}
	return out
}

func TestEmailsCarryTheFacts(t *testing.T) {
	t.Parallel()
	emails := renderAll(t, acme, jane, coffee)
	var err error
	if emails[KindRefund], err = RefundEmail(acme, jane, partial, coffee); err != nil {
		t.Fatal(err)
	}

	// Every part must state these; the subject only its own list.
	common := map[Kind][]string{
		KindReceipt: {"Hi Jane Doe,", "$1,234.56", "2 bags of espresso beans", coffee.ID, "15 March 2026",
			"sent by Durapay on behalf of Acme Coffee Roasters Ltd"},
		KindRefund: {"$20.00", partial.ID, coffee.ID, "$1,234.56 on 15 March 2026", "5-10 business days",
			"sent by Durapay on behalf of Acme Coffee Roasters Ltd"},
		KindOnboardingLink: {kycLink, "09:05 UTC on 1 March 2026", "30 March 2026", "verifying its business details",
			"to the contact for Acme Coffee Roasters Ltd (merchant " + acme.ID + ")"},
		KindOnboardingReminder: {"reminder 2", kycLink, "09:05 UTC on 1 March 2026", "30 March 2026",
			"to the contact for Acme Coffee Roasters Ltd (merchant " + acme.ID + ")"},
		KindWelcome: {"can now take payments", acme.ID, "to the contact for Acme Coffee Roasters Ltd"},
		KindKeyLink: {keyLink, "works once", "09:05 UTC on 1 March 2026", "never see your key", "to the contact for Acme Coffee Roasters Ltd"},
	}
	subjects := map[Kind]string{
		KindReceipt:            "Your receipt from Acme Coffee Roasters Ltd",
		KindRefund:             "Your refund from Acme Coffee Roasters Ltd",
		KindOnboardingLink:     "Continue setting up Acme Coffee Roasters Ltd on Durapay",
		KindOnboardingReminder: "Reminder: finish setting up Acme Coffee Roasters Ltd on Durapay",
		KindWelcome:            "Welcome to Durapay: Acme Coffee Roasters Ltd can take payments",
		KindKeyLink:            "Your Durapay secret key for Acme Coffee Roasters Ltd",
	}
	for _, k := range kinds {
		e := emails[k]
		if e.Subject != subjects[k] {
			t.Errorf("%s subject = %q, want %q", k, e.Subject, subjects[k])
		}
		for _, want := range common[k] {
			if !strings.Contains(e.Text, want) {
				t.Errorf("%s text lacks %q:\n%s", k, want, e.Text)
			}
			if !strings.Contains(e.HTML, want) {
				t.Errorf("%s HTML lacks %q:\n%s", k, want, e.HTML)
			}
		}
		if !strings.Contains(e.HTML, "Acme Coffee Roasters Ltd") || !strings.HasPrefix(e.HTML, "<!DOCTYPE html>") {
			t.Errorf("%s HTML lacks its frame or the merchant's name:\n%s", k, e.HTML)
		}
		if strings.Contains(e.Text, "<") || strings.Contains(e.Text, "{{") || strings.Contains(e.HTML, "{{") {
			t.Errorf("%s leaks markup into text or template syntax:\n%s", k, e.Text)
		}
	}
	for k, link := range map[Kind]string{KindOnboardingLink: kycLink, KindOnboardingReminder: kycLink, KindKeyLink: keyLink} {
		if !strings.Contains(emails[k].HTML, `href="`+link+`"`) {
			t.Errorf("%s HTML does not link to the KYC URL:\n%s", k, emails[k].HTML)
		}
	}
}

func TestReceiptShowsWhatWasTaken(t *testing.T) {
	t.Parallel()
	p := coffee
	p.Captured = 100000
	e, err := Receipt(acme, Customer{}, p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.Text, "Amount paid: $1,000.00") || strings.Contains(e.Text, "1,234.56") {
		t.Errorf("a partial capture's receipt must show the captured amount only:\n%s", e.Text)
	}
	if !strings.HasPrefix(e.Text, "Hello,\n") {
		t.Errorf("without a customer name the greeting is Hello:\n%s", e.Text)
	}
	p.Description = ""
	if e, err = Receipt(acme, jane, p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.Text, "Description") || strings.Contains(e.HTML, "Description") {
		t.Errorf("an empty description must not be shown:\n%s", e.Text)
	}
}

func TestTextLayout(t *testing.T) {
	t.Parallel()
	e, err := Receipt(acme, jane, coffee)
	if err != nil {
		t.Fatal(err)
	}
	want := `Hi Jane Doe,

Thank you for your payment to Acme Coffee Roasters Ltd.

Amount paid: $1,234.56
Description: 2 bags of espresso beans
Date: 15 March 2026
Payment ID: pay_q7x2m4k9v3p8r6t2w5y1z3ab

This email was sent by Durapay on behalf of Acme Coffee Roasters Ltd.
For questions about this payment, contact Acme Coffee Roasters Ltd.
`
	if e.Text != want {
		t.Errorf("receipt text =\n%s\nwant\n%s", e.Text, want)
	}
}

func TestHTMLEscapesWhatMerchantsAndCustomersWrite(t *testing.T) {
	t.Parallel()
	c := Customer{Name: `Zoë "Z" O'Neil`}
	for k, e := range renderAll(t, hostile, c, teaAndBiscuits) {
		if strings.Contains(e.HTML, "<script>") {
			t.Errorf("%s HTML contains the merchant's <script>:\n%s", k, e.HTML)
		}
		if !strings.Contains(e.HTML, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s HTML lacks the escaped merchant name:\n%s", k, e.HTML)
		}
		if !strings.Contains(e.Text, "<script>alert(1)</script>") || strings.Contains(e.Text, "&lt;") {
			t.Errorf("%s text must keep the name as written:\n%s", k, e.Text)
		}
		if !strings.Contains(e.Subject, "<script>alert(1)</script>") {
			t.Errorf("%s subject must keep the name as written: %q", k, e.Subject)
		}
		if k == KindReceipt || k == KindRefund {
			if !strings.Contains(e.HTML, "Tea &amp; biscuits") || !strings.Contains(e.HTML, "Zoë &#34;Z&#34; O&#39;Neil") {
				t.Errorf("%s HTML must escape the description and the customer's name:\n%s", k, e.HTML)
			}
			if !strings.Contains(e.Text, "Tea & biscuits") || !strings.Contains(e.Text, `Hi Zoë "Z" O'Neil,`) {
				t.Errorf("%s text must not HTML-escape:\n%s", k, e.Text)
			}
		}
	}
}

func TestSubjectIsOneLine(t *testing.T) {
	t.Parallel()
	e, err := Welcome(Merchant{Name: "Acme\r\nBcc: victim@example.com\x00 Ltd"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Welcome to Durapay: Acme Bcc: victim@example.com Ltd can take payments"; e.Subject != want {
		t.Errorf("subject = %q, want %q", e.Subject, want)
	}
}

func TestOnboardingLinkMustBeHTTP(t *testing.T) {
	t.Parallel()
	for _, link := range []string{"javascript:alert(1)", " JavaScript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,<b>x</b>",
		"vbscript:msgbox", "//evil.example/x", "/onboarding", "https://", ""} {
		o := kyc
		o.LinkURL = link
		for name, f := range map[string]func(Merchant, Onboarding) (Email, error){"link": OnboardingLink, "reminder": OnboardingReminder} {
			_, err := f(acme, o)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%s with %q: error = %v, want ErrInvalid", name, link, err)
			} else if link != "" && strings.Contains(err.Error(), link) {
				t.Errorf("%s: the error repeats the link: %v", name, err)
			}
		}
	}
	o := kyc
	o.LinkURL = "http://localhost:8080/onboarding/refresh?merchant=mer_1&n=2"
	e, err := OnboardingLink(acme, o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.HTML, `href="http://localhost:8080/onboarding/refresh?merchant=mer_1&amp;n=2"`) || !strings.Contains(e.Text, o.LinkURL) {
		t.Errorf("an http link must be kept:\n%s\n%s", e.HTML, e.Text)
	}
}

// TestHTMLNeutralisesScriptLinks checks the templates themselves, below OnboardingLink's own
// check: html/template must never emit a javascript: href.
func TestHTMLNeutralisesScriptLinks(t *testing.T) {
	t.Parallel()
	for _, k := range []Kind{KindOnboardingLink, KindOnboardingReminder} {
		e, err := render(k, view{Brand: "Durapay", MerchantName: "Acme", LinkURL: "javascript:alert(1)", Reminder: 1})
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`(?i)href="\s*javascript`).MatchString(e.HTML) || !strings.Contains(e.HTML, `href="#ZgotmplZ"`) {
			t.Errorf("%s HTML emits a javascript: href:\n%s", k, e.HTML)
		}
	}
}

func TestInvalidData(t *testing.T) {
	t.Parallel()
	withPayment := func(f func(*Payment)) Payment { p := coffee; f(&p); return p }
	withRefund := func(f func(*Refund)) Refund { r := partial; f(&r); return r }
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"receipt without merchant name", second(Receipt(Merchant{Name: "  "}, jane, coffee)), ErrInvalid},
		{"receipt without payment ID", second(Receipt(acme, jane, withPayment(func(p *Payment) { p.ID = "" }))), ErrInvalid},
		{"receipt without date", second(Receipt(acme, jane, withPayment(func(p *Payment) { p.Created = time.Time{} }))), ErrInvalid},
		{"receipt in an unknown currency", second(Receipt(acme, jane, withPayment(func(p *Payment) { p.Currency = "xyz" }))), money.ErrUnknownCurrency},
		{"receipt in a currency Stripe writes differently", second(Receipt(acme, jane, withPayment(func(p *Payment) { p.Currency = "isk" }))), money.ErrUnsupportedCurrency},
		{"receipt of nothing", second(Receipt(acme, jane, withPayment(func(p *Payment) { p.Amount = 0 }))), money.ErrNotPositive},
		{"refund in another currency", second(RefundEmail(acme, jane, withRefund(func(r *Refund) { r.Currency = "eur" }), coffee)), money.ErrCurrencyMismatch},
		{"refund of another payment", second(RefundEmail(acme, jane, withRefund(func(r *Refund) { r.PaymentID = "pay_other" }), coffee)), ErrInvalid},
		{"refund without ID", second(RefundEmail(acme, jane, withRefund(func(r *Refund) { r.ID = "" }), coffee)), ErrInvalid},
		{"negative refund", second(RefundEmail(acme, jane, withRefund(func(r *Refund) { r.Amount = -1 }), coffee)), money.ErrNotPositive},
		{"reminder number 0", second(OnboardingReminder(acme, Onboarding{LinkURL: kycLink, ExpiresAt: kyc.ExpiresAt})), ErrInvalid},
		{"reminder without expiry", second(OnboardingReminder(acme, Onboarding{LinkURL: kycLink, Reminder: 1})), ErrInvalid},
		{"welcome without merchant name", second(Welcome(Merchant{ID: "mer_1"})), ErrInvalid},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: error = %v, want %v", tt.name, tt.err, tt.want)
		}
		if !errors.Is(tt.err, ErrInvalid) {
			t.Errorf("%s: error = %v, want it to be ErrInvalid too", tt.name, tt.err)
		}
	}
}

func second(_ Email, err error) error { return err }

func TestFormatAmount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{1234, "usd", "$12.34"},
		{1234, "USD", "$12.34"},
		{5, "usd", "$0.05"},
		{123456789, "usd", "$1,234,567.89"},
		{1234, "eur", "€12.34"},
		{20, "gbp", "£0.20"},
		{500, "jpy", "¥500"},
		{1500000, "jpy", "¥1,500,000"},
		{1250, "kwd", "1.250 KWD"},
		{1234567, "bhd", "1,234.567 BHD"},
		{1234, "chf", "12.34 CHF"},
		{1234, "cad", "12.34 CAD"}, // not "$": a Canadian reader and an American one must agree
		{99, "krw", "99 KRW"},
		// Unknown to internal/domain/money, or written by Stripe in other units: never guess decimals.
		{1234, "xyz", "1234 XYZ (minor units)"},
		{1234, "isk", "1234 ISK (minor units)"},
		{1234, "", "1234 (minor units)"},
		// Not expected (amounts are positive), but shown with the sign rather than hidden.
		{-1234, "usd", "-$12.34"},
		{-123456, "chf", "-1,234.56 CHF"},
		{0, "usd", "$0.00"},
	}
	for _, tt := range tests {
		if got := FormatAmount(tt.minor, tt.currency); got != tt.want {
			t.Errorf("FormatAmount(%d, %q) = %q, want %q", tt.minor, tt.currency, got, tt.want)
		}
	}
}

func TestSMS(t *testing.T) {
	t.Parallel()
	long := "pay_" + strings.Repeat("a1", 150)
	tests := []struct {
		name                string
		eventType, objectID string
		amount              int64
		currency            string
		want                string
	}{
		{"payment", "payment.succeeded", "pay_x", 1234, "usd", "Durapay: payment pay_x of $12.34 succeeded"},
		{"refund in euros", "refund.succeeded", "rfd_q7x2", 500, "EUR", "Durapay: refund rfd_q7x2 of €5.00 succeeded"},
		{"no amount", "merchant.onboarding_reminder", "mer_k3v9", 0, "", "Durapay: merchant mer_k3v9 onboarding reminder"},
		{"unknown currency leaves the amount out", "payment.failed", "pay_x", 1234, "xyz", "Durapay: payment pay_x failed"},
		{"email instead of an ID", "payment.succeeded", "jane.doe@example.com", 1234, "usd", "Durapay: payment of $12.34 succeeded"},
		{"phone instead of an ID", "payment.succeeded", "+44 7700 900123", 1234, "usd", "Durapay: payment of $12.34 succeeded"},
		{"digits instead of an ID", "payment.succeeded", "447700900123", 1234, "usd", "Durapay: payment of $12.34 succeeded"},
		{"odd event type", "<b>Payment</b>..Succeeded!", "pay_x", 1, "jpy", "Durapay: b payment b pay_x of ¥1 succeeded"},
		{"empty event type", "", "", 0, "", "Durapay: event"},
		{"long ID is cut", "payment.succeeded", long, 123456, "eur",
			// 160 septets: 40 around the ID ("€" is two), a space, 116 of the ID and "...".
			"Durapay: payment " + long[:116] + "... of €1,234.56 succeeded"},
	}
	for _, tt := range tests {
		got := SMS(tt.eventType, tt.objectID, tt.amount, tt.currency)
		if got != tt.want {
			t.Errorf("%s: SMS = %q, want %q", tt.name, got, tt.want)
		}
		checkSMS(t, got)
	}
	if got := SMS("payment.succeeded", long, 123456, "eur"); septets(got) != smsLimit {
		t.Errorf("a cut SMS should fill the segment: %d septets", septets(got))
	}
}

// TestSMSProperties: whatever the input, one GSM-7 segment with no personal data in it.
func TestSMSProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		eventType := rapid.String().Draw(t, "eventType")
		objectID := rapid.OneOf(rapid.String(), rapid.StringMatching(`[a-z]{2,8}_[A-Za-z0-9]{1,400}`)).Draw(t, "objectID")
		amount := rapid.Int64().Draw(t, "amount")
		currency := rapid.SampledFrom([]string{"usd", "eur", "jpy", "kwd", "chf", "xyz", ""}).Draw(t, "currency")
		s := SMS(eventType, objectID, amount, currency)
		checkSMS(t, s)
		if !objectIDPattern.MatchString(objectID) {
			if without := SMS(eventType, "", amount, currency); s != without {
				t.Fatalf("SMS %q carries something of the non-ID %q (without it: %q)", s, objectID, without)
			}
		}
	})
}

// gsm7 is the GSM 03.38 basic character set and its extension table.
const gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà" +
	"^{}\\[~]|€\f"

var (
	emailPattern = regexp.MustCompile(`[^\s@]+@[^\s@]+`)
	phonePattern = regexp.MustCompile(`\+?\b\d[\d ()-]{6,}\d\b`)
)

func checkSMS(t interface {
	Helper()
	Fatalf(string, ...any)
}, s string) {
	t.Helper()
	if n := septets(s); n > smsLimit {
		t.Fatalf("SMS %q is %d septets, over %d", s, n, smsLimit)
	}
	for _, r := range s {
		if !strings.ContainsRune(gsm7, r) {
			t.Fatalf("SMS %q has %q, outside GSM-7: it would be sent as UCS-2", s, r)
		}
	}
	if !strings.HasPrefix(s, "Durapay: ") {
		t.Fatalf("SMS %q does not say who sends it", s)
	}
	if emailPattern.MatchString(s) || phonePattern.MatchString(s) {
		t.Fatalf("SMS %q looks like it carries an email address or a phone number", s)
	}
}
