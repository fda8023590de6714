package main

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/platform/envelope"
	"github.com/durapay/durapay/schemas"
)

// Texts go only to a merchant's verified contact number (SMS pumping): the merchant asks for
// a code, the notifier texts it to the number, and the merchant enters it here.

// requestPhoneVerification is POST /v1/contact_phone/verification: a code is on its way to
// the contact phone (202). A new request replaces the code sent before.
func (s *server) requestPhoneVerification(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if _, err := s.contactPhone(r); err != nil {
		return err
	}
	id, err := merchants.RequestPhoneVerification(ctx, s.pool, merchantFrom(ctx))
	if err != nil {
		return err
	}
	s.audit(r, "contact_phone.verification_requested", merchantFrom(ctx), audit.Success, map[string]string{"verification": id})
	writeJSON(w, http.StatusAccepted, map[string]any{"object": "phone_verification", "id": id, "status": "pending",
		"attempts_allowed": merchants.MaxPhoneCodeAttempts})
	return nil
}

// confirmPhoneBody is POST /v1/contact_phone/verification/confirm.
type confirmPhoneBody struct {
	Code string `json:"code"`
}

var phoneCodeFormat = regexp.MustCompile(`^[0-9]{6}$`)

// confirmPhone checks the code the merchant received: the number it was sent to is verified.
func (s *server) confirmPhone(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var body confirmPhoneBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	if !phoneCodeFormat.MatchString(body.Code) {
		return newError(codeParameterInvalid, "code", "code must be the six digits texted to the contact phone.")
	}
	phone, err := s.contactPhone(r)
	if err != nil {
		return err
	}
	err = merchants.ConfirmPhone(ctx, s.pool, merchantFrom(ctx), body.Code, phone)
	outcome := audit.Success
	if err != nil {
		outcome = audit.Refused
	}
	s.audit(r, "contact_phone.verify", merchantFrom(ctx), outcome, nil)
	switch {
	case errors.Is(err, merchants.ErrPhoneCodeInvalid):
		return newError(codePhoneCodeInvalid, "code", fmt.Sprintf(
			"This code is not valid: wrong, expired, or past %d attempts. Ask for a new one.", merchants.MaxPhoneCodeAttempts))
	case errors.Is(err, merchants.ErrPhoneChanged):
		return newError(codePhoneCodeInvalid, "code", "The contact phone changed since this code was sent. Ask for a new one.")
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "phone_verification", "status": "verified"})
	return nil
}

// contactPhone opens the merchant's sealed profile for its contact phone.
func (s *server) contactPhone(r *http.Request) (string, error) {
	ctx := r.Context()
	id := merchantFrom(ctx)
	m, err := merchants.Get(ctx, s.pool, id)
	if err != nil {
		return "", err
	}
	var profile schemas.MerchantProfile
	if m.Profile != nil {
		if err := envelope.Open(s.dataKeys, m.Profile, schemas.ProfilePurpose(id), &profile); err != nil {
			return "", err
		}
	}
	if profile.ContactPhone == "" {
		return "", newError(codeParameterMissing, "", "This merchant has no contact phone to verify.")
	}
	return profile.ContactPhone, nil
}
