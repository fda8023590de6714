package notify

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/domain/notify/messages"
	"github.com/durapay/durapay/schemas"
)

// MerchantMessagesConfig is how Durapay's own messages to merchants are sent: the links that
// deliver their secret keys, and the codes that verify their contact phones.
type MerchantMessagesConfig struct {
	// PublicURL is frontend-api's address as merchants' browsers reach it.
	PublicURL string `env:"PUBLIC_API_URL, default=http://127.0.0.1:8080"`
	// KeyLinkTTL is how long a key link works once sent; PhoneCodeTTL a phone code.
	KeyLinkTTL   time.Duration `env:"KEY_LINK_TTL, default=24h"`
	PhoneCodeTTL time.Duration `env:"PHONE_CODE_TTL, default=10m"`
	// Every is how often waiting messages are looked for.
	Every time.Duration `env:"MERCHANT_MESSAGES_POLL, default=2s"`
}

// Sends of Durapay's own messages in notification_sends (they answer no event).
const (
	eventKeyLink   = "merchant.key_link"
	eventPhoneCode = "merchant.phone_code"
)

// SendMerchantMessages sends every waiting key link (internal/domain/merchants) and phone code,
// until ctx ends. A link or code is made only here, just before it is sent, and Durapay keeps
// its hash alone: it exists in that one message. Each is sent at most once, like any
// notification; one the provider refused goes back in the queue, to go out made afresh.
func (n *Notifier) SendMerchantMessages(ctx context.Context, pool *pgxpool.Pool, cfg MerchantMessagesConfig) error {
	base, err := url.Parse(cfg.PublicURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return fmt.Errorf("PUBLIC_API_URL must be an absolute http(s) URL")
	}
	tick := time.NewTicker(cfg.Every)
	defer tick.Stop()
	for {
		for n.sendNextKeyLink(ctx, pool, *base, cfg.KeyLinkTTL) {
		}
		for n.sendNextPhoneCode(ctx, pool, cfg.PhoneCodeTTL) {
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// sendNextKeyLink sends the oldest waiting key link, and reports whether there was one.
func (n *Notifier) sendNextKeyLink(ctx context.Context, pool *pgxpool.Pool, base url.URL, ttl time.Duration) bool {
	link, token, ok, err := merchants.NextKeyLink(ctx, pool, ttl)
	if err != nil {
		n.log.WithError(err).Error("key links: cannot take the next one")
		return false
	}
	if !ok {
		return false
	}
	if err := n.sendKeyLink(ctx, link, keyURL(base, token)); err != nil {
		n.log.WithError(err).WithField("link", link.ID).Error("key link not sent; it goes out again with a fresh token")
		if err := merchants.ResetKeyLink(ctx, pool, link.ID); err != nil {
			n.log.WithError(err).WithField("link", link.ID).Error("key link not put back: an operator must request a new one")
		}
	}
	return true
}

// sendNextPhoneCode texts the oldest waiting phone code, and reports whether there was one.
func (n *Notifier) sendNextPhoneCode(ctx context.Context, pool *pgxpool.Pool, ttl time.Duration) bool {
	v, phone, code, ok, err := merchants.NextPhoneCode(ctx, pool, ttl, func(merchantID string) (string, error) {
		profile, err := n.directory.merchant(ctx, merchantID)
		return profile.ContactPhone, err
	})
	if err != nil {
		n.log.WithError(err).Error("phone codes: cannot take the next one")
		return false
	}
	if !ok {
		return false
	}
	// The verification text goes to a number not verified yet, by nature: the platform's
	// SMS cap bounds how many a merchant can have sent.
	ev := schemas.Event{ID: v.ID, Type: eventPhoneCode, Merchant: v.MerchantID}
	err = n.send(ctx, ev, notification{channel: ChannelSMS, to: phone, template: "phone_code", sms: messages.PhoneCode(code, ttl),
		cap: n.limits.SMSDailyCap})
	if err != nil {
		n.log.WithError(err).WithField("verification", v.ID).Error("phone code not sent; it goes out again with a fresh code")
		if err := merchants.ResetPhoneCode(ctx, pool, v.ID); err != nil {
			n.log.WithError(err).WithField("verification", v.ID).Error("phone code not put back: the merchant must ask again")
		}
	}
	return true
}

func (n *Notifier) sendKeyLink(ctx context.Context, link merchants.KeyLink, linkURL string) error {
	profile, err := n.directory.merchant(ctx, link.MerchantID)
	if err != nil {
		return err
	}
	if profile.ContactEmail == "" {
		return fmt.Errorf("merchant %s has no contact email", link.MerchantID)
	}
	e, err := messages.KeyLink(messages.Merchant{ID: link.MerchantID, Name: profile.LegalName}, linkURL, *link.ExpiresAt)
	if err != nil {
		return err
	}
	ev := schemas.Event{ID: link.ID, Type: eventKeyLink, Merchant: link.MerchantID}
	// Durapay's own message, rare and operator-driven: no merchant's daily cap applies.
	return n.send(ctx, ev, notification{channel: ChannelEmail, to: profile.ContactEmail, template: string(messages.KindKeyLink),
		email: e, cap: math.MaxInt32})
}

// keyURL is the page of frontend-api where a link's token reveals the key.
func keyURL(base url.URL, token string) string {
	base.Path = "/merchant/key"
	base.RawQuery = url.Values{"token": {token}}.Encode()
	return base.String()
}
