package main

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// A merchant's secret key reaches the merchant by a single-use link emailed to its contact
// address (internal/domain/merchants, key links): approval requests the first link, an operator may
// request a new one, and the merchant's browser (or a script) spends it here once.

// revealedKey answers a spent link: the merchant's new secret key, shown this once.
type revealedKey struct {
	merchants.APIKey
	Secret string `json:"secret"`
}

// revealKeyBody is POST /v1/key_reveals.
type revealKeyBody struct {
	Token string `json:"token"`
}

// revealKey is POST /v1/key_reveals: the link's token (its only credential) for the key.
func (s *server) revealKey(w http.ResponseWriter, r *http.Request) error {
	var body revealKeyBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	key, err := s.spendKeyLink(r, body.Token)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, key)
	return nil
}

// spendKeyLink issues the key of the link carrying token, and audits a key delivered. A
// token refused is a failed authentication (its source's budget is checked before the
// lookup, and it is tallied with the others).
func (s *server) spendKeyLink(r *http.Request, token string) (revealedKey, error) {
	ctx := r.Context()
	var failed *authFailure
	if err := s.checkFailureBudget(r); errors.As(err, &failed) {
		return revealedKey{}, s.failedCredential(r, failed)
	}
	plain, before, key, link, err := merchants.RevealKey(ctx, s.pool, token, s.source(r))
	if errors.Is(err, merchants.ErrKeyLinkInvalid) {
		return revealedKey{}, s.failedCredential(r, &authFailure{refusal: newError(codeKeyLinkInvalid, "token",
			"This link is not valid: it may have been used, have expired, or have been replaced by a newer one. Ask Durapay for a new link.")})
	}
	if err != nil {
		return revealedKey{}, err
	}
	// The key's previous secret (a lost key's) stops working on every replica now.
	if err := s.keys.forget(ctx, before.Hash, markDead); err != nil {
		loggerFrom(ctx).WithError(err).Error("the replaced secret stays in the key cache until it expires")
	}
	s.audit(r, "api_key.reveal", key.ID, audit.Success, map[string]string{"merchant": key.MerchantID, "link": link.ID})
	return revealedKey{APIKey: key, Secret: plain}, nil
}

// keyPage is GET and POST /merchant/key, where the emailed link leads: GET shows a button
// (mail scanners that fetch links must not spend them), POST spends the link and shows the
// key once.
func (s *server) keyPage(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	view := keyPageView{Token: r.URL.Query().Get("token")}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		key, err := s.spendKeyLink(r, r.PostFormValue("token"))
		var ae *apiError
		switch {
		case errors.As(err, &ae):
			view.Error = ae.message
		case err != nil:
			return err
		default:
			view.Key = &key
		}
	}
	return keyPageTemplate.Execute(w, view)
}

type keyPageView struct {
	Token string
	Key   *revealedKey
	Error string
}

var keyPageTemplate = template.Must(template.New("key").Parse(`<!doctype html>
<title>Durapay: your secret key</title>
{{if .Key}}<h1>Your secret key</h1>
<p>Store it now in your server's secret store: Durapay keeps only its hash and cannot show it again.</p>
<pre>{{.Key.Secret}}</pre>
<p>Key ID {{.Key.ID}}, merchant {{.Key.MerchantID}}.</p>
{{else if .Error}}<h1>This link cannot be used</h1><p>{{.Error}}</p>
{{else}}<h1>Reveal your secret key</h1>
<p>This link works once and shows your merchant account's secret API key.</p>
<form method="post"><input type="hidden" name="token" value="{{.Token}}"><button>Reveal the key</button></form>
{{end}}`))

// requestKeyLink is POST /v1/admin/merchants/{id}/key_link: an operator asks for a new link
// to be sent to the active merchant's contact address (the merchant lost its key, or the
// first link expired). Earlier links stop working; once used, the new link replaces the
// key's secret. The operator never sees it.
func (s *server) requestKeyLink(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := mux.Vars(r)["id"]
	st, err := s.onboardingState(ctx, id)
	switch {
	case errors.Is(err, pg.ErrNotFound):
		return newError(codeResourceMissing, "id", "No such merchant: '"+id+"'")
	case err != nil:
		return err
	case st.Status != schemas.MerchantActive || st.SecretKeyID == "":
		return newError(codeMerchantNotReviewable, "", "Only an active merchant gets a key link; this one is "+string(st.Status)+".")
	}
	linkID := merchants.NewKeyLinkID()
	if err := merchants.RequestKeyLink(ctx, s.pool, linkID, id, st.SecretKeyID, principalFrom(ctx).id()); err != nil {
		return err
	}
	s.audit(r, "api_key.link_requested", id, audit.Success, map[string]string{"link": linkID})
	writeJSON(w, http.StatusAccepted, map[string]any{"object": "key_link", "id": linkID, "merchant": id, "status": "pending"})
	return nil
}
