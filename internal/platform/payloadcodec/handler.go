package payloadcodec

import (
	"net/http"

	"go.temporal.io/sdk/converter"

	"github.com/durapay/durapay/internal/platform/keyring"
)

// maxBodyBytes bounds a request body. Temporal refuses payloads over 2 MiB by default, and the
// UI sends one event's payloads at a time; this leaves room for several.
const maxBodyBytes = 16 << 20

// Handler is the codec server for the Temporal UI/CLI: POST /encode and POST /decode (the
// Temporal codec server protocol, see converter.NewPayloadCodecHTTPHandler), with CORS for the
// UI's origin (allowedOrigin, e.g. http://127.0.0.1:8233) including the OPTIONS preflight and
// the X-Namespace header, and an authorize func called on every request (return false -> 401;
// the caller supplies it — frontend-api will check an operator's credentials).
//
// The SDK matches the paths by suffix, so the handler also works mounted under a prefix
// ("/codec/decode"). An empty allowedOrigin sends no CORS headers, which suits the CLI (it is
// not a browser). A nil authorize panics: a codec server open to all would decrypt for anyone.
//
// Unlike NewCodec's, /decode passes a payload that is not encrypted back unchanged: it only
// shows a history, and an operator looking into a refused workflow must see what it was sent.
// The UI sends a failure's encoded attributes here too, and shows the message they decode to.
func Handler(k *keyring.Keyring, allowedOrigin string, authorize func(*http.Request) bool) http.Handler {
	if authorize == nil {
		panic("payloadcodec.Handler: authorize is nil")
	}
	codecs := converter.NewPayloadCodecHTTPHandler(&codec{keys: k, showClear: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Set before anything else, so the browser also lets the UI read a 401 or 400.
		corsOK := allowedOrigin != "" && r.Header.Get("Origin") == allowedOrigin
		w.Header().Add("Vary", "Origin")
		if corsOK {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", allowedOrigin)
			// The UI can be set to send cookies ("include credentials") with codec requests.
			h.Set("Access-Control-Allow-Credentials", "true")
		}

		// A preflight carries no credentials by design, so it is answered before
		// authorization; it reveals nothing and lets the real request through.
		if r.Method == http.MethodOptions {
			if corsOK {
				h := w.Header()
				h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
				// The UI sends X-Namespace always, and Authorization when it passes the
				// operator's access token on.
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
				h.Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}

		if !authorize(r) {
			http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		codecs.ServeHTTP(w, r)
	})
}
