package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// caps counts each merchant's sends per channel and UTC day in Redis, so that one merchant
// (a bug in its integration, a flood of tiny payments) cannot spend Durapay's SES and SNS
// quotas. A counter lost with Redis only loosens the cap for the rest of that day.
type caps struct{ rdb *redis.Client }

// take counts one send and reports whether it is within the cap.
func (c caps) take(ctx context.Context, merchantID, channel string, limit int, now time.Time) (bool, error) {
	key := fmt.Sprintf("durapay:notify:sent:%s:%s:%s", merchantID, channel, now.UTC().Format("2006-01-02"))
	pipe := c.rdb.TxPipeline()
	n := pipe.Incr(ctx, key)
	pipe.Expire(ctx, key, 48*time.Hour)
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("count %s sends of %s: %w", channel, merchantID, err)
	}
	return n.Val() <= int64(limit), nil
}
