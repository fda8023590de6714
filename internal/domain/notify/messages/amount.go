package messages

import (
	"fmt"
	"strings"

	"github.com/durapay/durapay/schemas/money"
)

// symbols are the currencies written with a symbol before the amount. Others are written
// with their code after it ("12.34 CHF"), which no reader can mistake: "$" alone would be
// ambiguous for CAD or AUD.
var symbols = map[money.Currency]string{"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}

// FormatAmount writes minor units for people, with the currency's own number of decimals
// and thousands separated: "$1,234.56", "€12.34", "£0.20", "¥500", "1.250 KWD",
// "12.34 CHF".
//
// A currency schemas/money does not accept (unknown, or one whose Stripe amounts are not
// ISO minor units) is shown in minor units, "1234 XYZ (minor units)": never an amount 100
// times off. Durapay's amounts are positive; a negative one, not expected, keeps its sign
// before the symbol ("-$12.34").
func FormatAmount(minor int64, currency string) string {
	c, err := money.ParseCurrency(currency)
	if err != nil {
		if code := strings.ToUpper(strings.TrimSpace(currency)); code != "" {
			return fmt.Sprintf("%d %s (minor units)", minor, code)
		}
		return fmt.Sprintf("%d (minor units)", minor)
	}
	d := money.Amount{Minor: minor, Currency: c}.Decimal()
	sign := ""
	if d.IsNegative() {
		sign = "-"
	}
	digits := groupThousands(d.Abs().StringFixed(c.Exponent()))
	if s, ok := symbols[c]; ok {
		return sign + s + digits
	}
	return sign + digits + " " + strings.ToUpper(string(c))
}

// groupThousands puts a comma every three digits of the integer part of an unsigned
// decimal: "1234567.89" -> "1,234,567.89".
func groupThousands(s string) string {
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return b.String()
}
