package main

import (
	"errors"
	"net/http"

	"github.com/durapay/durapay/internal/platform/payloadcodec"
)

// codecServer is the Temporal codec server at /codec/encode and /codec/decode: the Temporal
// UI and CLI call it to show an operator the decrypted payloads of a history. Only staff may
// (CODEC_AUTH=staff): their key or token travels as Authorization, which the UI sends when
// configured to pass the user's access token.
func (s *server) codecServer() http.Handler {
	authorize := func(r *http.Request) bool {
		if s.cfg.CodecAuth == "none" {
			return true
		}
		p, err := s.authenticated(r, route{access: operator})
		var failed *authFailure
		if errors.As(err, &failed) {
			// Counted like any failure: the codec answers this one, the penalty box the next
			// ones once the source is over its budget.
			s.countAuthFailure(r, failed)
		}
		return err == nil && p.MerchantID == "" && len(p.Roles) > 0
	}
	return payloadcodec.Handler(s.keyring, s.cfg.CodecAllowedOrigin, authorize)
}
