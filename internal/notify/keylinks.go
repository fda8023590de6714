package notify

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"time"

	"github.com/durapay/durapay/internal/merchants"
	"github.com/durapay/durapay/internal/notify/messages"
	"github.com/durapay/durapay/internal/pg"
	"github.com/durapay/durapay/schemas"
)

// KeyLinkConfig is how merchants' key links are sent.
type KeyLinkConfig struct {
	// PublicURL is frontend-api's address as merchants' browsers reach it.
	PublicURL string `env:"PUBLIC_API_URL, default=http://127.0.0.1:8080"`
	// TTL is how long a link works once sent; Every how often waiting links are looked for.
	TTL   time.Duration `env:"KEY_LINK_TTL, default=24h"`
	Every time.Duration `env:"KEY_LINK_POLL, default=2s"`
}

// eventKeyLink names the sends of key links in notification_sends (they answer no event).
const eventKeyLink = "merchant.key_link"

// SendKeyLinks emails every waiting key link (internal/merchants) to its merchant's contact
// address, until ctx ends. A link gets its token only here, just before it is sent: the
// token then exists in that email alone. Each link is sent at most once per token, like any
// notification; a send the provider refused puts the link back in the queue, to go out
// with a fresh token.
func (n *Notifier) SendKeyLinks(ctx context.Context, q pg.Querier, cfg KeyLinkConfig) error {
	base, err := url.Parse(cfg.PublicURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return fmt.Errorf("PUBLIC_API_URL must be an absolute http(s) URL")
	}
	tick := time.NewTicker(cfg.Every)
	defer tick.Stop()
	for {
		for {
			link, token, ok, err := merchants.NextKeyLink(ctx, q, cfg.TTL)
			if err != nil {
				n.log.WithError(err).Error("key links: cannot take the next one")
				break
			}
			if !ok {
				break
			}
			if err := n.sendKeyLink(ctx, link, keyURL(*base, token)); err != nil {
				n.log.WithError(err).WithField("link", link.ID).Error("key link not sent; it goes out again with a fresh token")
				if err := merchants.ResetKeyLink(ctx, q, link.ID); err != nil {
					n.log.WithError(err).WithField("link", link.ID).Error("key link not put back: an operator must request a new one")
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
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
