package money

import (
	"errors"
	"testing"
)

func TestNewAmount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		minor    int64
		currency string
		wantErr  error
		wantText string
	}{
		{"usd two decimals", 2000, "usd", nil, "20.00 USD"},
		{"upper case code", 2000, "USD", nil, "20.00 USD"},
		{"jpy zero decimals", 500, "jpy", nil, "500 JPY"},
		{"kwd three decimals", 1250, "kwd", nil, "1.250 KWD"},
		{"maximum", MaxMinor, "eur", nil, "999999.99 EUR"},
		{"zero", 0, "usd", ErrNotPositive, ""},
		{"negative", -1, "usd", ErrNotPositive, ""},
		{"above maximum", MaxMinor + 1, "usd", ErrTooLarge, ""},
		{"unknown currency", 100, "xyz", ErrUnknownCurrency, ""},
		{"fund code is not a payment currency", 100, "usn", ErrUnknownCurrency, ""},
		{"empty currency", 100, "", ErrUnknownCurrency, ""},
		{"stripe represents isk differently", 100, "isk", ErrUnsupportedCurrency, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := NewAmount(tt.minor, tt.currency)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewAmount(%d, %q) error = %v, want %v", tt.minor, tt.currency, err, tt.wantErr)
			}
			if err == nil && a.String() != tt.wantText {
				t.Errorf("String() = %q, want %q", a.String(), tt.wantText)
			}
		})
	}
}

func TestExponents(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]int32{"jpy": 0, "usd": 2, "kwd": 3, "bhd": 3, "krw": 0, "eur": 2} {
		c, err := ParseCurrency(code)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Exponent(); got != want {
			t.Errorf("%s exponent = %d, want %d", code, got, want)
		}
	}
}
