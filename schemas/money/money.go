// Package money holds amounts as int64 minor units with an explicit ISO 4217 currency.
//
// Floats never represent money here. Decimals (github.com/shopspring/decimal) appear only
// where a rate or fee is applied, and the result is rounded once, by the rule documented at
// that place, back into minor units.
package money

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// MaxMinor is the largest amount accepted for any currency: eight digits of minor units,
// Stripe's documented ceiling for a single charge (99999999 = 999,999.99 USD).
const MaxMinor int64 = 99_999_999

var (
	ErrUnknownCurrency     = errors.New("unknown currency")
	ErrUnsupportedCurrency = errors.New("unsupported currency")
	ErrNotPositive         = errors.New("amount must be a positive integer of minor units")
	ErrTooLarge            = errors.New("amount exceeds the maximum")
	ErrCurrencyMismatch    = errors.New("currencies differ")
)

// Currency is a lowercase ISO 4217 alphabetic code, as Stripe writes it ("usd").
// Obtain one through ParseCurrency so that it is always known.
type Currency string

// Exponent is the number of minor-unit digits (JPY 0, USD 2, KWD 3).
func (c Currency) Exponent() int32 { return int32(exponents[string(c)]) }

// String returns the lowercase code.
func (c Currency) String() string { return string(c) }

// ParseCurrency accepts an ISO 4217 code in any case.
func ParseCurrency(code string) (Currency, error) {
	c := strings.ToLower(strings.TrimSpace(code))
	if _, ok := exponents[c]; !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownCurrency, code)
	}
	if _, odd := stripeRepresentationDiffers[c]; odd {
		return "", fmt.Errorf("%w: %q", ErrUnsupportedCurrency, code)
	}
	return Currency(c), nil
}

// Amount is a positive or negative quantity of minor units in one currency. Embedded in a
// contract (schemas.PaymentInput), it is encoded as the contract's own "Amount" and
// "Currency": histories recorded before it was embedded decode unchanged.
type Amount struct {
	Minor    int64    `json:"Amount"`
	Currency Currency `json:"Currency"`
}

// NewAmount validates a charge amount: positive, within MaxMinor, in a known currency.
func NewAmount(minor int64, currency string) (Amount, error) {
	c, err := ParseCurrency(currency)
	if err != nil {
		return Amount{}, err
	}
	if minor <= 0 {
		return Amount{}, ErrNotPositive
	}
	if minor > MaxMinor {
		return Amount{}, fmt.Errorf("%w of %d minor units", ErrTooLarge, MaxMinor)
	}
	return Amount{Minor: minor, Currency: c}, nil
}

// Decimal is the amount in major units, exact (2000 USD minor units -> 20.00).
func (a Amount) Decimal() decimal.Decimal {
	return decimal.New(a.Minor, -a.Currency.Exponent())
}

// String formats the amount for people and logs: "20.00 USD", "500 JPY", "1.250 KWD".
func (a Amount) String() string {
	return a.Decimal().StringFixed(a.Currency.Exponent()) + " " + strings.ToUpper(string(a.Currency))
}

// CurrencyOfCountry is the currency a merchant of an ISO 3166 country settles in, USD when
// Durapay does not know it.
func CurrencyOfCountry(country string) Currency {
	if c, ok := countryCurrencies[strings.ToUpper(country)]; ok {
		return c
	}
	return "usd"
}

var countryCurrencies = map[string]Currency{
	"US": "usd", "GB": "gbp", "CA": "cad", "AU": "aud", "NZ": "nzd", "JP": "jpy", "CH": "chf", "SE": "sek", "NO": "nok",
	"DK": "dkk", "PL": "pln", "CZ": "czk", "SG": "sgd", "HK": "hkd", "MX": "mxn", "BR": "brl", "IN": "inr",
	"AT": "eur", "BE": "eur", "CY": "eur", "DE": "eur", "EE": "eur", "ES": "eur", "FI": "eur", "FR": "eur", "GR": "eur",
	"HR": "eur", "IE": "eur", "IT": "eur", "LT": "eur", "LU": "eur", "LV": "eur", "MT": "eur", "NL": "eur", "PT": "eur",
	"SI": "eur", "SK": "eur",
}

// stripeRepresentationDiffers lists currencies whose Stripe API amount is not the ISO 4217
// minor unit (ISK and UGX are sent two-decimal although ISO gives them none; HUF and TWD
// are payable only in whole units; Stripe treats MGA as zero-decimal). Until Durapay
// converts them deliberately it refuses them, rather than risk charging 100 times too much.
var stripeRepresentationDiffers = map[string]struct{}{
	"isk": {}, "ugx": {}, "huf": {}, "twd": {}, "mga": {},
}

// exponents lists the active ISO 4217 currencies (fund and precious-metal codes excluded)
// with their minor-unit exponent.
var exponents = map[string]uint8{
	"aed": 2, "afn": 2, "all": 2, "amd": 2, "aoa": 2, "ars": 2, "aud": 2, "awg": 2, "azn": 2,
	"bam": 2, "bbd": 2, "bdt": 2, "bgn": 2, "bhd": 3, "bif": 0, "bmd": 2, "bnd": 2, "bob": 2,
	"brl": 2, "bsd": 2, "btn": 2, "bwp": 2, "byn": 2, "bzd": 2, "cad": 2, "cdf": 2, "chf": 2,
	"clp": 0, "cny": 2, "cop": 2, "crc": 2, "cup": 2, "cve": 2, "czk": 2, "djf": 0, "dkk": 2,
	"dop": 2, "dzd": 2, "egp": 2, "ern": 2, "etb": 2, "eur": 2, "fjd": 2, "fkp": 2, "gbp": 2,
	"gel": 2, "ghs": 2, "gip": 2, "gmd": 2, "gnf": 0, "gtq": 2, "gyd": 2, "hkd": 2, "hnl": 2,
	"htg": 2, "huf": 2, "idr": 2, "ils": 2, "inr": 2, "iqd": 3, "irr": 2, "isk": 0, "jmd": 2,
	"jod": 3, "jpy": 0, "kes": 2, "kgs": 2, "khr": 2, "kmf": 0, "kpw": 2, "krw": 0, "kwd": 3,
	"kyd": 2, "kzt": 2, "lak": 2, "lbp": 2, "lkr": 2, "lrd": 2, "lsl": 2, "lyd": 3, "mad": 2,
	"mdl": 2, "mga": 2, "mkd": 2, "mmk": 2, "mnt": 2, "mop": 2, "mru": 2, "mur": 2, "mvr": 2,
	"mwk": 2, "mxn": 2, "myr": 2, "mzn": 2, "nad": 2, "ngn": 2, "nio": 2, "nok": 2, "npr": 2,
	"nzd": 2, "omr": 3, "pab": 2, "pen": 2, "pgk": 2, "php": 2, "pkr": 2, "pln": 2, "pyg": 0,
	"qar": 2, "ron": 2, "rsd": 2, "rub": 2, "rwf": 0, "sar": 2, "sbd": 2, "scr": 2, "sdg": 2,
	"sek": 2, "sgd": 2, "shp": 2, "sle": 2, "sos": 2, "srd": 2, "ssp": 2, "stn": 2, "svc": 2,
	"syp": 2, "szl": 2, "thb": 2, "tjs": 2, "tmt": 2, "tnd": 3, "top": 2, "try": 2, "ttd": 2,
	"twd": 2, "tzs": 2, "uah": 2, "ugx": 0, "usd": 2, "uyu": 2, "uzs": 2, "ved": 2, "ves": 2,
	"vnd": 0, "vuv": 0, "wst": 2, "xaf": 0, "xcd": 2, "xcg": 2, "xof": 0, "xpf": 0, "yer": 2,
	"zar": 2, "zmw": 2, "zwg": 2,
}
