package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/platform/envelope"
	"github.com/durapay/durapay/schemas"
)

// A merchant verifies its contact phone with the code texted to it (by the notifier; here
// the test takes the code as the notifier would), audited; a wrong code is refused.
func TestContactPhoneVerification(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	const phone = "+44 20 7946 0003"
	profile, err := envelope.Seal(f.srv.dataKeys, schemas.MerchantProfile{LegalName: "Shop", ContactPhone: phone}, schemas.ProfilePurpose(f.merchant))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.pool.Exec(ctx, `UPDATE merchants SET profile = $2 WHERE id = $1`, f.merchant, profile); err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, http.MethodPost, "/v1/contact_phone/verification", f.key, "", ""); r.status != http.StatusAccepted {
		t.Fatalf("request: %d %s", r.status, r.raw)
	}
	_, sentTo, code, ok, err := merchants.NextPhoneCode(ctx, f.srv.pool, time.Minute, func(string) (string, error) { return phone, nil })
	if err != nil || !ok || sentTo != phone {
		t.Fatalf("the notifier's code: %v %v", ok, err)
	}
	wrong := "123456"
	if code == wrong {
		wrong = "654321"
	}
	if r := f.do(t, http.MethodPost, "/v1/contact_phone/verification/confirm", f.key, "", `{"code":"`+wrong+`"}`); r.status != 400 || r.errorCode() != codePhoneCodeInvalid {
		t.Errorf("a wrong code: %d %s", r.status, r.raw)
	}
	if r := f.do(t, http.MethodPost, "/v1/contact_phone/verification/confirm", f.key, "", `{"code":"`+code+`"}`); r.status != http.StatusOK {
		t.Fatalf("the right code: %d %s", r.status, r.raw)
	}
	if verified, err := merchants.PhoneVerified(ctx, f.srv.pool, f.merchant, phone); err != nil || !verified {
		t.Fatalf("verified %v %v", verified, err)
	}
}
