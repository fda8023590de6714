package stripesandbox

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Stripe Connect: connected accounts, account links and the onboarding (KYC) the merchant does
// on Stripe's hosted pages, which the sandbox plays through CompleteOnboarding and
// /_sandbox/connect/onboard/{account}.

// account is Stripe's Account object, as the API version 2023-10-16 returns it to the platform
// that created it, limited to what the sandbox models.
type account struct {
	ID                 string                 `json:"id"`
	Object             string                 `json:"object"`
	BusinessProfile    accountBusinessProfile `json:"business_profile"`
	BusinessType       *string                `json:"business_type"`
	Capabilities       map[string]string      `json:"capabilities"` // requested capability -> active|inactive|pending
	ChargesEnabled     bool                   `json:"charges_enabled"`
	Controller         accountController      `json:"controller"`
	Country            string                 `json:"country"`
	Created            int64                  `json:"created"`
	DefaultCurrency    string                 `json:"default_currency"`
	DetailsSubmitted   bool                   `json:"details_submitted"`
	Email              *string                `json:"email"`
	ExternalAccounts   externalAccountList    `json:"external_accounts"`
	FutureRequirements accountRequirements    `json:"future_requirements"`
	LoginLinks         *emptyList             `json:"login_links,omitempty"` // Express accounts only
	Metadata           map[string]string      `json:"metadata"`
	PayoutsEnabled     bool                   `json:"payouts_enabled"`
	Requirements       accountRequirements    `json:"requirements"`
	Settings           accountSettings        `json:"settings"`
	TOSAcceptance      accountTOSAcceptance   `json:"tos_acceptance"`
	Type               string                 `json:"type"`
}

type accountBusinessProfile struct {
	MCC                *string `json:"mcc"`
	Name               *string `json:"name"`
	ProductDescription *string `json:"product_description"`
	SupportAddress     any     `json:"support_address"` // always null: not modelled
	SupportEmail       *string `json:"support_email"`
	SupportPhone       *string `json:"support_phone"`
	SupportURL         *string `json:"support_url"`
	URL                *string `json:"url"`
}

// businessProfileFields are the business_profile parameters the sandbox accepts.
func (b *accountBusinessProfile) fields() map[string]**string {
	return map[string]**string{"mcc": &b.MCC, "name": &b.Name, "product_description": &b.ProductDescription,
		"support_email": &b.SupportEmail, "support_phone": &b.SupportPhone, "support_url": &b.SupportURL, "url": &b.URL}
}

type accountController struct {
	Fees                  map[string]string `json:"fees"`
	IsController          bool              `json:"is_controller"`
	Losses                map[string]string `json:"losses"`
	RequirementCollection string            `json:"requirement_collection"`
	StripeDashboard       map[string]string `json:"stripe_dashboard"`
	Type                  string            `json:"type"`
}

type accountRequirements struct {
	Alternatives        []any    `json:"alternatives"`
	CurrentDeadline     *int64   `json:"current_deadline"`
	CurrentlyDue        []string `json:"currently_due"`
	DisabledReason      *string  `json:"disabled_reason"`
	Errors              []any    `json:"errors"`
	EventuallyDue       []string `json:"eventually_due"`
	PastDue             []string `json:"past_due"`
	PendingVerification []string `json:"pending_verification"`
}

type accountSettings struct {
	Dashboard struct {
		DisplayName *string `json:"display_name"`
		Timezone    string  `json:"timezone"`
	} `json:"dashboard"`
	Payouts struct {
		DebitNegativeBalances bool `json:"debit_negative_balances"`
		Schedule              struct {
			DelayDays int64  `json:"delay_days"`
			Interval  string `json:"interval"`
		} `json:"schedule"`
		StatementDescriptor *string `json:"statement_descriptor"`
	} `json:"payouts"`
}

type accountTOSAcceptance struct {
	Date      *int64  `json:"date"`
	IP        *string `json:"ip"`
	UserAgent *string `json:"user_agent"`
}

// externalAccountList is the account's external_accounts sublist (total_count included, as
// Stripe's sublists have it).
type externalAccountList struct {
	Object     string         `json:"object"`
	Data       []*bankAccount `json:"data"`
	HasMore    bool           `json:"has_more"`
	TotalCount int64          `json:"total_count"`
	URL        string         `json:"url"`
}

type emptyList struct {
	Object     string `json:"object"`
	Data       []any  `json:"data"`
	HasMore    bool   `json:"has_more"`
	TotalCount int64  `json:"total_count"`
	URL        string `json:"url"`
}

// bankAccount is the test bank account the sandbox attaches when onboarding satisfies the
// external_account requirement (Stripe's test routing number and account 000123456789).
type bankAccount struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Account            string            `json:"account"`
	AccountHolderName  *string           `json:"account_holder_name"`
	AccountHolderType  *string           `json:"account_holder_type"`
	BankName           string            `json:"bank_name"`
	Country            string            `json:"country"`
	Currency           string            `json:"currency"`
	DefaultForCurrency bool              `json:"default_for_currency"`
	Fingerprint        string            `json:"fingerprint"`
	Last4              string            `json:"last4"`
	Metadata           map[string]string `json:"metadata"`
	RoutingNumber      *string           `json:"routing_number"`
	Status             string            `json:"status"`
}

// accountLink is a stored account link; its API object is accountLinkObject.
type accountLink struct {
	ID         string `json:"id"` // the sandbox's own: Stripe's account links have no id
	Account    string `json:"account"`
	Type       string `json:"type"`
	Collect    string `json:"collect"`
	RefreshURL string `json:"refresh_url"`
	ReturnURL  string `json:"return_url"`
	URL        string `json:"url"`
	Created    int64  `json:"created"`
	ExpiresAt  int64  `json:"expires_at"`
	Visited    bool   `json:"visited"`
}

type accountLinkObject struct {
	Object    string `json:"object"`
	Created   int64  `json:"created"`
	ExpiresAt int64  `json:"expires_at"`
	URL       string `json:"url"`
}

// accountLinkLifetime is how long an account link can be visited.
const accountLinkLifetime = 300 * time.Second

// initialRequirements are what a new connected account must provide before charges and payouts.
var initialRequirements = []string{"business_profile.url", "external_account", "individual.first_name", "individual.last_name", "tos_acceptance.date"}

// newRequirements are what OnboardingNewRequirement asks for, in turn.
var newRequirements = []string{"company.tax_id", "individual.verification.document", "individual.id_number"}

// Results of the merchant's onboarding, for CompleteOnboarding.
const (
	// OnboardingComplete: every requirement is provided; charges and payouts are enabled.
	OnboardingComplete = "complete"
	// OnboardingPartial: some requirements are provided (at least one stays due) and
	// details_submitted becomes true.
	OnboardingPartial = "partial"
	// OnboardingNewRequirement: Stripe asks for one more thing (company.tax_id first) and
	// disables charges until it is provided.
	OnboardingNewRequirement = "new_requirement"
)

// capabilityNames are the capabilities stripe-go v76 can request.
var capabilityNames = map[string]bool{}

func init() {
	for _, c := range strings.Fields(`acss_debit_payments affirm_payments afterpay_clearpay_payments amazon_pay_payments
		au_becs_debit_payments bacs_debit_payments bancontact_payments bank_transfer_payments blik_payments boleto_payments
		card_issuing card_payments cartes_bancaires_payments cashapp_payments eps_payments fpx_payments giropay_payments
		grabpay_payments ideal_payments india_international_payments jcb_payments klarna_payments konbini_payments
		legacy_payments link_payments mobilepay_payments oxxo_payments p24_payments paynow_payments promptpay_payments
		revolut_pay_payments sepa_debit_payments sofort_payments swish_payments tax_reporting_us_1099_k
		tax_reporting_us_1099_misc transfers treasury us_bank_account_ach_payments zip_payments`) {
		capabilityNames[c] = true
	}
}

// countryCurrencies are the countries the sandbox accepts for accounts, with their default
// currency.
var countryCurrencies = map[string]string{
	"US": "usd", "CA": "cad", "GB": "gbp", "AU": "aud", "NZ": "nzd", "JP": "jpy", "SG": "sgd", "HK": "hkd",
	"CH": "chf", "SE": "sek", "NO": "nok", "DK": "dkk", "PL": "pln", "CZ": "czk", "HU": "huf", "RO": "ron",
	"BG": "bgn", "MX": "mxn", "BR": "brl", "IN": "inr", "MY": "myr", "TH": "thb", "AE": "aed",
	"AT": "eur", "BE": "eur", "CY": "eur", "DE": "eur", "EE": "eur", "ES": "eur", "FI": "eur", "FR": "eur",
	"GR": "eur", "HR": "eur", "IE": "eur", "IT": "eur", "LT": "eur", "LU": "eur", "LV": "eur", "MT": "eur",
	"NL": "eur", "PT": "eur", "SI": "eur", "SK": "eur",
}

var (
	accountCreateParams      = []string{"type", "country", "email", "business_type", "business_profile", "capabilities", "default_currency", "metadata", "expand"}
	accountUpdateParams      = []string{"business_type", "business_profile", "capabilities", "default_currency", "email", "metadata", "expand"}
	accountLinkParams        = []string{"account", "type", "refresh_url", "return_url", "collect", "collection_options", "expand"}
	businessTypes            = map[string]bool{"company": true, "government_entity": true, "individual": true, "non_profit": true}
	sandboxMerchantURL       = "https://merchant.example.com"
	sandboxTestRoutingNumber = "110000000"
)

func newAccountID() string {
	return "acct_" + strings.TrimPrefix(newID("x"), "x_")[:16]
}

// accountInvalid is Stripe's answer for an account the platform cannot reach: it does not say
// whether the account exists, and answers 403 rather than 404.
func accountInvalid(req *apiRequest, id string) *apiError {
	key := req.apiKey
	if len(key) > 12 {
		key = key[:8] + strings.Repeat("*", len(key)-12) + key[len(key)-4:]
	}
	return &apiError{status: 403, validation: true, Type: "invalid_request_error", Code: "account_invalid",
		Message: fmt.Sprintf("The provided key '%s' does not have access to account '%s' (or that account does not exist). Application access may have been revoked.", key, id)}
}

// unknownNested is the sandbox's parameter_unknown error for a nested parameter.
func unknownNested(prefix string, h params, allowed ...string) *apiError {
	e := h.unknown(allowed...)
	if e != nil {
		e.Param = prefix + "[" + e.Param + "]"
		e.Message = "Received unknown parameter: " + e.Param
	}
	return e
}

// hashParam returns a hash parameter; an empty string counts as an empty hash (Stripe's way of
// unsetting one).
func hashParam(p params, key string) (params, *apiError) {
	if !p.has(key) {
		return nil, nil
	}
	if h, ok := p[key].(params); ok {
		return h, nil
	}
	if p.str(key) == "" {
		return params{}, nil
	}
	return nil, badParam(key, "Invalid hash")
}

// parseCapabilities reads capabilities[<name>][requested]=true|false.
func parseCapabilities(p params) (map[string]bool, *apiError) {
	h, e := hashParam(p, "capabilities")
	if e != nil || h == nil {
		return nil, e
	}
	out := map[string]bool{}
	for name := range h {
		param := "capabilities[" + name + "]"
		if !capabilityNames[name] {
			return nil, &apiError{status: 400, Type: "invalid_request_error", Code: "parameter_unknown", Param: param,
				Message: "Received unknown parameter: " + param}
		}
		c, isHash := h[name].(params)
		if !isHash {
			return nil, badParam(param, "Invalid hash")
		}
		if e := unknownNested(param, c, "requested"); e != nil {
			return nil, e
		}
		requested, e := c.bool("requested")
		if e != nil {
			e.Param = param + "[requested]"
			return nil, e
		}
		out[name] = requested
	}
	return out, nil
}

// applyAccountParams validates and applies the parameters create and update share.
func applyAccountParams(a *account, p params, creating bool) *apiError {
	if p.has("business_type") {
		bt := p.str("business_type")
		switch {
		case bt == "" && !creating:
			a.BusinessType = nil
		case businessTypes[bt]:
			a.BusinessType = &bt
		default:
			return badParam("business_type", "Invalid business_type: must be one of company, government_entity, individual, or non_profit")
		}
	}
	bp, e := hashParam(p, "business_profile")
	if e != nil {
		return e
	}
	if bp != nil {
		fields := a.BusinessProfile.fields()
		allowed := make([]string, 0, len(fields))
		for k := range fields {
			allowed = append(allowed, k)
		}
		if e := unknownNested("business_profile", bp, allowed...); e != nil {
			return e
		}
		for k, dst := range fields {
			if !bp.has(k) {
				continue
			}
			v, isString := bp[k].(string)
			if !isString {
				return badParam("business_profile["+k+"]", "Invalid string")
			}
			if v == "" {
				*dst = nil
			} else {
				*dst = &v
			}
		}
		a.Settings.Dashboard.DisplayName = a.BusinessProfile.Name
	}
	caps, e := parseCapabilities(p)
	if e != nil {
		return e
	}
	for name, requested := range caps {
		switch {
		case !requested:
			delete(a.Capabilities, name)
		case a.Capabilities[name] == "":
			status := "inactive"
			if a.ChargesEnabled && len(a.Requirements.CurrentlyDue) == 0 {
				status = "active"
			}
			a.Capabilities[name] = status
		}
	}
	if p.has("default_currency") {
		c := p.str("default_currency")
		if !currencyCode.MatchString(c) {
			return badParam("default_currency", "Invalid currency: "+c)
		}
		a.DefaultCurrency = c
	}
	if p.has("email") {
		a.Email = optional(p, "email")
	}
	if p.has("metadata") {
		if _, isHash := p["metadata"].(params); !isHash && p.str("metadata") == "" {
			a.Metadata = map[string]string{} // metadata="" unsets every key
		}
		for k, v := range p.strMap("metadata") {
			if v == "" {
				delete(a.Metadata, k)
			} else {
				a.Metadata[k] = v
			}
		}
	}
	return nil
}

func (s *Server) createAccount(req *apiRequest) response {
	p := req.params
	if e := p.unknown(accountCreateParams...); e != nil {
		return fail(e)
	}
	typ := p.str("type")
	if typ == "" {
		typ = "standard" // Stripe's default when neither type nor controller is given
	}
	if typ != "custom" && typ != "express" && typ != "standard" {
		return fail(badParam("type", "Invalid type: must be one of custom, express, or standard"))
	}
	country := p.str("country")
	if country == "" {
		country = "US" // the platform's country
	}
	currency, known := countryCurrencies[country]
	if !known {
		return fail(badParam("country", fmt.Sprintf("Country '%s' is unknown or not supported by the Durapay Stripe sandbox. Use an ISO 3166-1 alpha-2 code such as 'US'.", country)))
	}
	if typ == "custom" {
		if caps, _ := p["capabilities"].(params); len(caps) == 0 {
			return fail(missingParam("capabilities"))
		}
	}
	a := &account{ID: newAccountID(), Object: "account", Capabilities: map[string]string{}, Country: country,
		Created: req.now.Unix(), DefaultCurrency: currency, Metadata: map[string]string{}, Type: typ,
		Requirements: accountRequirements{
			Alternatives: []any{}, CurrentlyDue: slices.Clone(initialRequirements), DisabledReason: strPtr("requirements.past_due"),
			Errors: []any{}, EventuallyDue: slices.Clone(initialRequirements), PastDue: []string{}, PendingVerification: []string{},
		},
		FutureRequirements: accountRequirements{Alternatives: []any{}, CurrentlyDue: []string{}, Errors: []any{},
			EventuallyDue: []string{}, PastDue: []string{}, PendingVerification: []string{}},
	}
	a.ExternalAccounts = externalAccountList{Object: "list", Data: []*bankAccount{}, URL: "/v1/accounts/" + a.ID + "/external_accounts"}
	a.Controller = controllerFor(typ)
	a.Settings.Dashboard.Timezone = "Etc/UTC"
	a.Settings.Payouts.DebitNegativeBalances = typ != "custom"
	a.Settings.Payouts.Schedule.DelayDays = 2
	a.Settings.Payouts.Schedule.Interval = "daily"
	if typ == "express" {
		a.LoginLinks = &emptyList{Object: "list", Data: []any{}, URL: "/v1/accounts/" + a.ID + "/login_links"}
	}
	if e := applyAccountParams(a, p, true); e != nil {
		return fail(e)
	}
	s.st.Accounts[a.ID] = a
	s.st.AccountOrder = append(s.st.AccountOrder, a.ID)
	// Stripe sends a Connect platform no event for an account it creates itself.
	return ok(a)
}

func controllerFor(typ string) accountController {
	switch typ {
	case "express":
		return accountController{Fees: map[string]string{"payer": "application_express"}, IsController: true,
			Losses: map[string]string{"payments": "application"}, RequirementCollection: "stripe",
			StripeDashboard: map[string]string{"type": "express"}, Type: "application"}
	case "custom":
		return accountController{Fees: map[string]string{"payer": "application_custom"}, IsController: true,
			Losses: map[string]string{"payments": "application"}, RequirementCollection: "application",
			StripeDashboard: map[string]string{"type": "none"}, Type: "application"}
	default:
		return accountController{Fees: map[string]string{"payer": "account"}, IsController: true,
			Losses: map[string]string{"payments": "stripe"}, RequirementCollection: "stripe",
			StripeDashboard: map[string]string{"type": "full"}, Type: "account"}
	}
}

func (s *Server) lookupAccount(req *apiRequest, id string) (*account, *apiError) {
	a, found := s.st.Accounts[id]
	if !found {
		return nil, accountInvalid(req, id)
	}
	return a, nil
}

func (s *Server) retrieveAccount(req *apiRequest) response {
	if e := req.params.unknown("expand"); e != nil {
		return fail(e)
	}
	a, e := s.lookupAccount(req, req.r.PathValue("id"))
	if e != nil {
		return fail(e)
	}
	return ok(a)
}

func (s *Server) updateAccount(req *apiRequest) response {
	p := req.params
	if e := p.unknown(accountUpdateParams...); e != nil {
		return fail(e)
	}
	a, e := s.lookupAccount(req, req.r.PathValue("id"))
	if e != nil {
		return fail(e)
	}
	before := string(mustJSON(a))
	// Validate on a copy, so that a refused update changes nothing.
	var updated account
	if err := jsonClone(a, &updated); err != nil {
		panic(err)
	}
	if e := applyAccountParams(&updated, p, false); e != nil {
		return fail(e)
	}
	*a = updated
	if string(mustJSON(a)) != before {
		s.emit(req, "account.updated", a)
	}
	return ok(a)
}

func (s *Server) listAccounts(req *apiRequest) response {
	if e := req.params.unknown("limit", "starting_after", "ending_before", "created", "expand"); e != nil {
		return fail(e)
	}
	created, e := parseRange(req.params, "created")
	if e != nil {
		return fail(e)
	}
	return listOf(req, "/v1/accounts", s.st.AccountOrder, func(id string) (any, bool) {
		a := s.st.Accounts[id]
		return a, created.contains(a.Created)
	})
}

func validURL(p params, key string) *apiError {
	v := p.str(key)
	if v == "" {
		return missingParam(key)
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return badParam(key, "Not a valid URL")
	}
	return nil
}

func (s *Server) createAccountLink(req *apiRequest) response {
	p := req.params
	if e := p.unknown(accountLinkParams...); e != nil {
		return fail(e)
	}
	acctID := p.str("account")
	if acctID == "" {
		return fail(missingParam("account"))
	}
	typ := p.str("type")
	switch typ {
	case "":
		return fail(missingParam("type"))
	case "account_onboarding", "account_update":
	default:
		return fail(badParam("type", "Invalid type: must be one of account_onboarding or account_update"))
	}
	for _, k := range []string{"refresh_url", "return_url"} {
		if e := validURL(p, k); e != nil {
			return fail(e)
		}
	}
	collect := p.str("collect")
	if collect != "" && collect != "currently_due" && collect != "eventually_due" {
		return fail(badParam("collect", "Invalid collect: must be one of currently_due or eventually_due"))
	}
	opts, e := hashParam(p, "collection_options")
	if e != nil {
		return fail(e)
	}
	if opts != nil {
		if collect != "" {
			return fail(badParam("collection_options", "You cannot specify both `collect` and `collection_options`."))
		}
		if e := unknownNested("collection_options", opts, "fields", "future_requirements"); e != nil {
			return fail(e)
		}
		switch opts.str("fields") {
		case "", "currently_due", "eventually_due":
		default:
			return fail(badParam("collection_options[fields]", "Invalid fields: must be one of currently_due or eventually_due"))
		}
		switch opts.str("future_requirements") {
		case "", "include", "omit":
		default:
			return fail(badParam("collection_options[future_requirements]", "Invalid future_requirements: must be one of include or omit"))
		}
		collect = opts.str("fields")
	}
	if collect == "" {
		collect = "currently_due"
	}
	a, e := s.lookupAccount(req, acctID)
	if e != nil {
		return fail(e)
	}
	if typ == "account_update" && a.Controller.RequirementCollection != "application" {
		return fail(&apiError{status: 400, validation: true, Type: "invalid_request_error", Param: "type",
			Message: "You can only create `account_update` Account Links for accounts where your platform collects requirements (such as Custom accounts); this account has access to a Stripe-hosted Dashboard."})
	}
	l := &accountLink{ID: newID("acctlink"), Account: a.ID, Type: typ, Collect: collect,
		RefreshURL: p.str("refresh_url"), ReturnURL: p.str("return_url"),
		Created: req.now.Unix(), ExpiresAt: req.now.Add(accountLinkLifetime).Unix()}
	l.URL = req.base + "/_sandbox/connect/onboard/" + url.PathEscape(a.ID) + "?link=" + url.QueryEscape(l.ID)
	s.st.AccountLinks[l.ID] = l
	return ok(&accountLinkObject{Object: "account_link", Created: l.Created, ExpiresAt: l.ExpiresAt, URL: l.URL})
}

// CompleteOnboarding plays the merchant going through Stripe's hosted onboarding for a
// connected account (OnboardingComplete, OnboardingPartial) or Stripe asking for more
// (OnboardingNewRequirement), and sends account.updated with the account as it is afterwards.
func (s *Server) CompleteOnboarding(accountID, result string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, found := s.st.Accounts[accountID]
	if !found {
		return fmt.Errorf("no such account: %s", accountID)
	}
	now := s.cfg.Now()
	switch result {
	case OnboardingComplete:
		for _, field := range slices.Concat(a.Requirements.CurrentlyDue, a.Requirements.EventuallyDue, a.Requirements.PastDue) {
			a.satisfy(field, now)
		}
		a.Requirements.DisabledReason = nil
		a.Requirements.CurrentDeadline = nil
		a.DetailsSubmitted, a.ChargesEnabled, a.PayoutsEnabled = true, true, true
		for name := range a.Capabilities {
			a.Capabilities[name] = "active"
		}
	case OnboardingPartial:
		// Provide the first half of what is due; at least one item stays due.
		for _, field := range slices.Clone(a.Requirements.CurrentlyDue[:len(a.Requirements.CurrentlyDue)/2]) {
			a.satisfy(field, now)
		}
		a.DetailsSubmitted = true
	case OnboardingNewRequirement:
		field := newRequirements[0]
		for _, f := range newRequirements {
			if !slices.Contains(a.Requirements.CurrentlyDue, f) {
				field = f
				break
			}
		}
		r := &a.Requirements
		for _, list := range []*[]string{&r.CurrentlyDue, &r.EventuallyDue, &r.PastDue} {
			if !slices.Contains(*list, field) {
				*list = append(*list, field)
			}
		}
		r.DisabledReason = strPtr("requirements.past_due")
		a.ChargesEnabled = false
		if _, requested := a.Capabilities["card_payments"]; requested {
			a.Capabilities["card_payments"] = "inactive"
		}
	default:
		return fmt.Errorf("result must be %q, %q or %q, not %q", OnboardingComplete, OnboardingPartial, OnboardingNewRequirement, result)
	}
	s.emit(&apiRequest{id: newID("req"), now: now}, "account.updated", a)
	return nil
}

// satisfy records that the merchant provided a required field, filling in a placeholder
// where the account shows it.
func (a *account) satisfy(field string, now time.Time) {
	r := &a.Requirements
	for _, list := range []*[]string{&r.CurrentlyDue, &r.EventuallyDue, &r.PastDue} {
		*list = slices.DeleteFunc(*list, func(f string) bool { return f == field })
	}
	switch field {
	case "business_profile.url":
		if a.BusinessProfile.URL == nil {
			u := sandboxMerchantURL
			a.BusinessProfile.URL = &u
		}
	case "tos_acceptance.date":
		t := now.Unix()
		a.TOSAcceptance.Date = &t
	case "external_account":
		if len(a.ExternalAccounts.Data) == 0 {
			ba := &bankAccount{ID: "ba_" + strings.TrimPrefix(newID("x"), "x_"), Object: "bank_account", Account: a.ID,
				BankName: "STRIPE TEST BANK", Country: a.Country, Currency: a.DefaultCurrency, DefaultForCurrency: true,
				Fingerprint: strings.TrimPrefix(newID("x"), "x_")[:16], Last4: "6789", Metadata: map[string]string{}, Status: "new"}
			if a.Country == "US" {
				rn := sandboxTestRoutingNumber
				ba.RoutingNumber = &rn
			}
			a.ExternalAccounts.Data = append(a.ExternalAccounts.Data, ba)
			a.ExternalAccounts.TotalCount = 1
		}
	}
}

// onboardingView is what the onboarding page shows, copied out under the lock.
type onboardingView struct {
	Account, Type, Email, Name       string
	DetailsSubmitted, ChargesEnabled bool
	PayoutsEnabled                   bool
	CurrentlyDue                     []string
	LinkType, ReturnURL, Action      string
}

// onboardingVisit looks up the page for an account (and a link, when the visit comes through
// one). A link that expired or was already visited sends the merchant to its refresh_url, as
// Stripe's single-use links do (redirect); an unknown link or account is an error.
func (s *Server) onboardingVisit(accountID, linkID string) (view *onboardingView, redirect string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, found := s.st.Accounts[accountID]
	if !found {
		return nil, "", fmt.Errorf("no such account: %s", accountID)
	}
	view = &onboardingView{Account: a.ID, Type: a.Type, DetailsSubmitted: a.DetailsSubmitted, ChargesEnabled: a.ChargesEnabled,
		PayoutsEnabled: a.PayoutsEnabled, CurrentlyDue: slices.Clone(a.Requirements.CurrentlyDue),
		Action: "/_sandbox/connect/onboard/" + url.PathEscape(a.ID)}
	if a.Email != nil {
		view.Email = *a.Email
	}
	if a.BusinessProfile.Name != nil {
		view.Name = *a.BusinessProfile.Name
	}
	if linkID == "" {
		return view, "", nil
	}
	l, found := s.st.AccountLinks[linkID]
	if !found || l.Account != accountID {
		return nil, "", fmt.Errorf("account link %s is not a link for account %s", linkID, accountID)
	}
	if l.Visited || s.cfg.Now().Unix() > l.ExpiresAt {
		return nil, l.RefreshURL, nil
	}
	l.Visited = true
	view.LinkType, view.ReturnURL = l.Type, l.ReturnURL
	view.Action += "?link=" + url.QueryEscape(l.ID)
	return view, "", nil
}

// onboardingLink checks that a link submitted with the onboarding form belongs to the account
// and returns where the merchant goes afterwards.
func (s *Server) onboardingLink(accountID, linkID string) (returnURL string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, found := s.st.AccountLinks[linkID]
	if !found || l.Account != accountID {
		return "", fmt.Errorf("account link %s is not a link for account %s", linkID, accountID)
	}
	return l.ReturnURL, nil
}

func strPtr(s string) *string { return &s }

// jsonClone deep-copies src into dst through JSON, the form the sandbox stores objects in.
func jsonClone(src, dst any) error {
	b, err := json.Marshal(src)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}
