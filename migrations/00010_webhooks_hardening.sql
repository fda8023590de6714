-- +goose Up

-- Delivery logs show merchants the class of an attempt's error (internal/webhooks,
-- errorclass.go), never its text: the endpoint's own words, or Durapay's resolvers,
-- addresses and reasons for refusing one. Attempts recorded before stored the text: this
-- classifies it by its known forms, in the order webhooks.Classify tests them.
UPDATE webhook_attempts SET error = CASE
        WHEN error LIKE 'endpoint answered %' THEN 'http_status'
        WHEN error LIKE '%forbidden webhook destination%' THEN 'ssrf_refused'
        WHEN error LIKE '%invalid webhook endpoint URL%' THEN 'invalid_url'
        WHEN error = 'the webhook endpoint is disabled' THEN 'endpoint_disabled'
        WHEN error LIKE '%lookup %' THEN 'dns_error'
        WHEN error ~* 'timeout|deadline exceeded' THEN 'timeout'
        WHEN error ~ '(tls|x509): ' THEN 'tls_error'
        WHEN error LIKE '%connection refused%' THEN 'connection_refused'
        WHEN error ~ 'connection reset|EOF' THEN 'connection_reset'
        ELSE 'network_error'
    END
WHERE error NOT IN ('http_status', 'timeout', 'connection_refused', 'connection_reset', 'tls_error',
    'dns_error', 'ssrf_refused', 'invalid_url', 'endpoint_disabled', 'network_error');

-- A delivery's last_error is its last attempt's class; a failed delivery's held the
-- workflow's reason for giving up, which quoted that attempt's text.
UPDATE webhook_deliveries d SET last_error = coalesce(
        (SELECT a.error FROM webhook_attempts a WHERE a.delivery_id = d.id ORDER BY a.attempt DESC LIMIT 1),
        'network_error')
WHERE last_error IS NOT NULL;

-- +goose Down
-- Nothing to undo: the text the classes replaced is gone (the workers' logs have it), and
-- the code before this version shows a class as it showed any text.
