package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/domain/notify/messages"
	"github.com/durapay/durapay/internal/platform/eventbus"
	"github.com/durapay/durapay/schemas"
)

// plan decides what an event sends, to whom, according to the merchant's preferences:
//
//	payment.succeeded            receipt email to the payment's customer (email_receipts)
//	refund.succeeded             refund email to the payment's customer (email_refunds)
//	merchant.onboarding_started  the first KYC link to the merchant's contact email
//	merchant.onboarding_link     a fresh KYC link, same
//	merchant.onboarding_reminder a reminder with the link, same
//	merchant.activated           the welcome, same
//	any type in sms_events       a text to the merchant's contact phone, once verified
//
// Merchant emails about onboarding are Durapay's own and do not depend on preferences.
func (n *Notifier) plan(ctx context.Context, ev schemas.Event) ([]notification, error) {
	if ev.Merchant == schemas.PlatformMerchant {
		return nil, nil
	}
	prefs, err := n.prefs.Get(ctx, ev.Merchant)
	if err != nil {
		return nil, err
	}
	// The merchant's profile, read once per event whatever needs it.
	var merchantProfile *schemas.MerchantProfile
	merchant := func() (schemas.MerchantProfile, error) {
		if merchantProfile == nil {
			p, err := n.directory.merchant(ctx, ev.Merchant)
			if err != nil {
				return p, err
			}
			merchantProfile = &p
		}
		return *merchantProfile, nil
	}
	var notes []notification
	email := func(to string, kind messages.Kind, e messages.Email, err error) error {
		if err != nil {
			return eventbus.Permanent(fmt.Errorf("render %s: %w", kind, err))
		}
		if to != "" {
			notes = append(notes, notification{channel: ChannelEmail, to: to, template: string(kind), email: e, cap: prefs.DailyEmailCap})
		}
		return nil
	}
	switch ev.Type {
	case schemas.EventPaymentSucceeded:
		if !prefs.EmailReceipts {
			break
		}
		var p schemas.Payment
		if err := decode(ev, &p); err != nil {
			return nil, err
		}
		if p.Customer == "" {
			break
		}
		profile, err := merchant()
		if err != nil {
			return nil, err
		}
		m, c, to, err := n.parties(ctx, ev.Merchant, profile, p.Customer)
		if err != nil || to == "" {
			return nil, err
		}
		e, err := messages.Receipt(m, c, messages.Payment{ID: p.ID, Amount: p.Amount, Currency: p.Currency,
			Description: p.Description, Created: time.Unix(p.Created, 0), Captured: p.AmountCaptured})
		if err := email(to, messages.KindReceipt, e, err); err != nil {
			return nil, err
		}
	case schemas.EventRefundSucceeded:
		if !prefs.EmailRefunds {
			break
		}
		var r schemas.Refund
		if err := decode(ev, &r); err != nil {
			return nil, err
		}
		pay, err := n.directory.payment(ctx, r.Payment)
		if err != nil || pay.Customer == "" {
			return nil, err
		}
		profile, err := merchant()
		if err != nil {
			return nil, err
		}
		m, c, to, err := n.parties(ctx, ev.Merchant, profile, pay.Customer)
		if err != nil || to == "" {
			return nil, err
		}
		e, err := messages.RefundEmail(m, c, messages.Refund{ID: r.ID, PaymentID: r.Payment, Amount: r.Amount, Currency: r.Currency},
			messages.Payment{ID: r.Payment, Amount: pay.Amount, Currency: pay.Currency, Description: pay.Description,
				Created: time.Unix(pay.Created, 0), Captured: pay.AmountCaptured})
		if err := email(to, messages.KindRefund, e, err); err != nil {
			return nil, err
		}
	case schemas.EventMerchantOnboardingStarted, schemas.EventMerchantOnboardingLink, schemas.EventMerchantReminder, schemas.EventMerchantActivated:
		var st schemas.OnboardingState
		if err := decode(ev, &st); err != nil {
			return nil, err
		}
		profile, err := merchant()
		if err != nil {
			return nil, err
		}
		m := messages.Merchant{ID: ev.Merchant, Name: profile.LegalName}
		o := messages.Onboarding{LinkURL: st.LinkURL, LinkExpires: time.Unix(st.LinkExpires, 0), ExpiresAt: time.Unix(st.ExpiresAt, 0),
			Reminder: st.RemindersSent}
		var (
			kind messages.Kind
			e    messages.Email
		)
		switch ev.Type {
		case schemas.EventMerchantOnboardingStarted, schemas.EventMerchantOnboardingLink:
			kind = messages.KindOnboardingLink
			e, err = messages.OnboardingLink(m, o)
		case schemas.EventMerchantReminder:
			kind = messages.KindOnboardingReminder
			e, err = messages.OnboardingReminder(m, o)
		default:
			kind = messages.KindWelcome
			e, err = messages.Welcome(m)
		}
		if err := email(profile.ContactEmail, kind, e, err); err != nil {
			return nil, err
		}
	}
	if slices.Contains(prefs.SMSEvents, ev.Type) {
		profile, err := merchant()
		if err != nil {
			return nil, err
		}
		verified, err := merchants.PhoneVerified(ctx, n.directory.q, ev.Merchant, profile.ContactPhone)
		if err != nil {
			return nil, err
		}
		if !verified {
			// Texts go only to a number its merchant proved it holds (SMS pumping).
			n.metrics.outcome(ChannelSMS, "unverified")
		} else if profile.ContactPhone != "" {
			id, amount, currency := smsFacts(ev)
			notes = append(notes, notification{channel: ChannelSMS, to: profile.ContactPhone, template: "sms",
				sms: messages.SMS(ev.Type, id, amount, currency), cap: prefs.DailySMSCap})
		}
	}
	return notes, nil
}

// parties returns the merchant and the customer of a payment, and the customer's address
// ("" when the customer is gone).
func (n *Notifier) parties(ctx context.Context, merchantID string, profile schemas.MerchantProfile, customerID string) (messages.Merchant, messages.Customer, string, error) {
	c, ok, err := n.directory.customer(ctx, customerID)
	if err != nil || !ok {
		return messages.Merchant{}, messages.Customer{}, "", err
	}
	return messages.Merchant{ID: merchantID, Name: profile.LegalName}, messages.Customer{Name: c.Name}, c.Email, nil
}

// smsFacts picks the object, amount and currency an event's text mentions.
func smsFacts(ev schemas.Event) (id string, amount int64, currency string) {
	var obj struct {
		ID       string `json:"id"`
		Merchant string `json:"merchant"`
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	}
	if json.Unmarshal(ev.Data, &obj) != nil {
		return "", 0, ""
	}
	if obj.ID == "" {
		obj.ID = obj.Merchant
	}
	return obj.ID, obj.Amount, obj.Currency
}

func decode(ev schemas.Event, v any) error {
	if err := json.Unmarshal(ev.Data, v); err != nil {
		return eventbus.Permanent(errors.Join(fmt.Errorf("event %s data", ev.ID), err))
	}
	return nil
}
