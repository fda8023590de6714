package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// Preferences are what a merchant wants sent on its behalf.
type Preferences struct {
	EmailReceipts bool `json:"email_receipts"`
	EmailRefunds  bool `json:"email_refunds"`
	// SMSEvents are the event types texted to the merchant's contact phone.
	SMSEvents     []string `json:"sms_events"`
	DailyEmailCap int      `json:"daily_email_cap"`
	DailySMSCap   int      `json:"daily_sms_cap"`
}

// DefaultPreferences apply to a merchant that never set any (the table's defaults).
var DefaultPreferences = Preferences{EmailReceipts: true, EmailRefunds: true, SMSEvents: []string{}, DailyEmailCap: 10000, DailySMSCap: 100}

// MaxDailyEmailCap bounds the email cap a merchant may set (the table's check).
const MaxDailyEmailCap = 1_000_000

// InvalidPreferenceError says which field of the preferences a merchant sent is wrong.
type InvalidPreferenceError struct{ Field, Reason string }

func (e *InvalidPreferenceError) Error() string {
	return "invalid notification preferences: " + e.Field + " " + e.Reason
}

// Validate checks preferences against the known event types, and the caps against their
// bounds: the SMS cap's is the platform's, which a merchant may lower but not raise. Its
// errors are *InvalidPreferenceError.
func (p Preferences) Validate(known func(eventType string) bool, l Limits) error {
	for _, t := range p.SMSEvents {
		if !known(t) {
			return &InvalidPreferenceError{"sms_events", fmt.Sprintf("unknown event type %q", t)}
		}
	}
	if p.DailyEmailCap < 0 || p.DailyEmailCap > MaxDailyEmailCap {
		return &InvalidPreferenceError{"daily_email_cap", fmt.Sprintf("must be between 0 and %d", MaxDailyEmailCap)}
	}
	if p.DailySMSCap < 0 || p.DailySMSCap > l.SMSDailyCap {
		return &InvalidPreferenceError{"daily_sms_cap", fmt.Sprintf("must be between 0 and %d, the platform's limit", l.SMSDailyCap)}
	}
	return nil
}

// Limits are what the platform, not merchants, decides about notifications: the notifier
// enforces them and frontend-api refuses preferences beyond them, so both read them.
type Limits struct {
	// SMSDailyCap bounds the texts sent for one merchant per UTC day, whatever the
	// merchant chose: each text costs Durapay money, and a merchant's integration (or a
	// stolen key) must not be able to pump them.
	SMSDailyCap int `env:"SMS_DAILY_CAP, default=100"`
}

// maxSMSDailyCap is the table's bound on a stored cap.
const maxSMSDailyCap = 100_000

// Validate checks the limits a process starts with.
func (l Limits) Validate() error {
	if l.SMSDailyCap < 0 || l.SMSDailyCap > maxSMSDailyCap {
		return fmt.Errorf("SMS_DAILY_CAP must be between 0 and %d", maxSMSDailyCap)
	}
	return nil
}

// prefsCacheTTL bounds how stale a cached copy can be if an invalidation is lost (the API
// deletes the key on every change).
const prefsCacheTTL = 5 * time.Minute

func prefsKey(merchantID string) string { return "durapay:notify:prefs:" + merchantID }

// PreferenceStore reads preferences through a Redis cache: the notifier asks for them on
// every event, and they change rarely. Postgres is the truth; Redis failing only costs a
// database read.
type PreferenceStore struct {
	q      pg.Querier
	cache  *redis.Client
	limits Limits
}

// NewPreferenceStore wires the store.
func NewPreferenceStore(q pg.Querier, cache *redis.Client, limits Limits) *PreferenceStore {
	return &PreferenceStore{q: q, cache: cache, limits: limits}
}

// Get returns the merchant's preferences (the defaults if it set none), with the SMS cap no
// higher than the platform's: a cap stored before the platform's limit, or above a lowered
// one, is harmless, and reads as what is enforced.
func (s *PreferenceStore) Get(ctx context.Context, merchantID string) (Preferences, error) {
	p, err := s.get(ctx, merchantID)
	p.DailySMSCap = min(p.DailySMSCap, s.limits.SMSDailyCap)
	return p, err
}

func (s *PreferenceStore) get(ctx context.Context, merchantID string) (Preferences, error) {
	if raw, err := s.cache.Get(ctx, prefsKey(merchantID)).Bytes(); err == nil {
		var p Preferences
		if json.Unmarshal(raw, &p) == nil {
			return p, nil
		}
	}
	p := DefaultPreferences
	err := s.q.QueryRow(ctx, `SELECT email_receipts, email_refunds, sms_events, daily_email_cap, daily_sms_cap
		FROM notification_preferences WHERE merchant_id = $1`, merchantID).
		Scan(&p.EmailReceipts, &p.EmailRefunds, &p.SMSEvents, &p.DailyEmailCap, &p.DailySMSCap)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("read notification preferences of %s: %w", merchantID, err)
	}
	if raw, err := json.Marshal(p); err == nil {
		_ = s.cache.Set(ctx, prefsKey(merchantID), raw, prefsCacheTTL).Err() // a cache miss next time at worst
	}
	return p, nil
}

// Set stores the merchant's preferences and drops the cached copy. The deletion comes after
// the commit, so a reader cannot cache the old row after it.
func (s *PreferenceStore) Set(ctx context.Context, merchantID string, p Preferences) error {
	p.SMSEvents = append([]string{}, slices.Compact(slices.Sorted(slices.Values(p.SMSEvents)))...)
	_, err := s.q.Exec(ctx, `
		INSERT INTO notification_preferences (merchant_id, email_receipts, email_refunds, sms_events, daily_email_cap, daily_sms_cap)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (merchant_id) DO UPDATE SET email_receipts = $2, email_refunds = $3, sms_events = $4,
			daily_email_cap = $5, daily_sms_cap = $6, updated_at = now()`,
		merchantID, p.EmailReceipts, p.EmailRefunds, p.SMSEvents, p.DailyEmailCap, p.DailySMSCap)
	if err != nil {
		return fmt.Errorf("store notification preferences of %s: %w", merchantID, err)
	}
	if err := s.cache.Del(ctx, prefsKey(merchantID)).Err(); err != nil {
		return fmt.Errorf("preferences of %s are stored, but the cached copy stays up to %s: %w", merchantID, prefsCacheTTL, err)
	}
	return nil
}

// KnownEventType says whether an event type exists (for SMS preferences and webhook
// endpoints' enabled events).
func KnownEventType(t string) bool {
	for _, et := range schemas.EventTypes() {
		if et.Name == t {
			return true
		}
	}
	return false
}
