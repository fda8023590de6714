package oidcauth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

var (
	// ErrNoToken means the request carries no Authorization header: answer
	// 401 with a bare `WWW-Authenticate: Bearer` (RFC 6750 §3.1: no error
	// code when no credentials were sent).
	ErrNoToken = errors.New("oidcauth: no bearer token")
	// ErrTokenInQuery means the token came in the URL (access_token=...). It
	// wraps ErrInvalidToken: refused with 401 invalid_token.
	ErrTokenInQuery = fmt.Errorf("%w: token passed in the URL query", ErrInvalidToken)
)

// BearerToken extracts the token from an Authorization: Bearer header. A token
// passed in the URL query (access_token=...) is refused: ErrTokenInQuery, even
// if a header is present too. Another scheme or a malformed header gives an
// error wrapping ErrInvalidToken; no header, ErrNoToken.
func BearerToken(r *http.Request) (string, error) {
	// A token in a URL ends up in access logs, proxies and browser history:
	// refuse it loudly rather than ignore it, so the client gets fixed.
	if r.URL != nil && r.URL.Query().Has("access_token") {
		return "", ErrTokenInQuery
	}
	headers := r.Header.Values("Authorization")
	switch {
	case len(headers) == 0:
		return "", ErrNoToken
	case len(headers) > 1:
		return "", fmt.Errorf("%w: more than one Authorization header", ErrInvalidToken)
	}
	scheme, token, _ := strings.Cut(headers[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Errorf("%w: Authorization scheme is not Bearer", ErrInvalidToken)
	}
	token = strings.TrimSpace(token)
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", fmt.Errorf("%w: malformed Bearer credentials", ErrInvalidToken)
	}
	return token, nil
}
