package stripesandbox

import (
	"time"

	"github.com/shopspring/decimal"
)

type balanceTransaction struct {
	ID                string      `json:"id"`
	Object            string      `json:"object"`
	Amount            int64       `json:"amount"`
	AvailableOn       int64       `json:"available_on"`
	Created           int64       `json:"created"`
	Currency          string      `json:"currency"`
	Fee               int64       `json:"fee"`
	FeeDetails        []feeDetail `json:"fee_details"`
	Net               int64       `json:"net"`
	ReportingCategory string      `json:"reporting_category"`
	Source            string      `json:"source"`
	Status            string      `json:"status"`
	Type              string      `json:"type"`
}

type feeDetail struct {
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description"`
	Type        string `json:"type"`
}

// Stripe's standard card pricing, which the sandbox charges on every captured charge:
// 2.9 % plus a fixed 0.30 in two-decimal currencies (3.00 in three-decimal ones, nothing
// fixed in zero-decimal ones), rounded half up to the minor unit. Refunds carry no fee.
var stripeFeeRate = decimal.RequireFromString("0.029")

var zeroDecimal = map[string]bool{"bif": true, "clp": true, "djf": true, "gnf": true, "jpy": true, "kmf": true, "krw": true,
	"mga": true, "pyg": true, "rwf": true, "ugx": true, "vnd": true, "vuv": true, "xaf": true, "xof": true, "xpf": true}

var threeDecimal = map[string]bool{"bhd": true, "jod": true, "kwd": true, "omr": true, "tnd": true}

// StripeFee is the sandbox's processing fee on a captured amount.
func StripeFee(amount int64, currency string) int64 {
	fixed := int64(30)
	switch {
	case zeroDecimal[currency]:
		fixed = 0
	case threeDecimal[currency]:
		fixed = 300
	}
	return decimal.NewFromInt(amount).Mul(stripeFeeRate).Round(0).IntPart() + fixed
}

func (s *Server) addBalanceTransaction(req *apiRequest, typ, source string, amount int64, currency string) *balanceTransaction {
	var fee int64
	var details []feeDetail
	if typ == "charge" {
		fee = StripeFee(amount, currency)
		details = []feeDetail{{Amount: fee, Currency: currency, Description: "Stripe processing fees", Type: "stripe_fee"}}
	}
	txn := &balanceTransaction{
		ID: newID("txn"), Object: "balance_transaction", Amount: amount, Created: req.now.Unix(),
		AvailableOn: req.now.Add(48 * time.Hour).Unix(), Currency: currency, Fee: fee, FeeDetails: details,
		Net: amount - fee, ReportingCategory: typ, Source: source, Status: "pending", Type: typ,
	}
	if txn.FeeDetails == nil {
		txn.FeeDetails = []feeDetail{}
	}
	s.st.BalanceTransactions = append(s.st.BalanceTransactions, txn)
	return txn
}

func (s *Server) listBalanceTransactions(req *apiRequest) response {
	if e := req.params.unknown("limit", "starting_after", "ending_before", "created", "type", "source", "currency", "payout", "expand"); e != nil {
		return fail(e)
	}
	created, e := parseRange(req.params, "created")
	if e != nil {
		return fail(e)
	}
	typ, source, currency := req.params.str("type"), req.params.str("source"), req.params.str("currency")
	ids := make([]string, len(s.st.BalanceTransactions))
	byID := make(map[string]*balanceTransaction, len(ids))
	for i, t := range s.st.BalanceTransactions {
		ids[i] = t.ID
		byID[t.ID] = t
	}
	return listOf(req, "/v1/balance_transactions", ids, func(id string) (any, bool) {
		t := byID[id]
		keep := (typ == "" || t.Type == typ) && (source == "" || t.Source == source) &&
			(currency == "" || t.Currency == currency) && created.contains(t.Created)
		return t, keep
	})
}
