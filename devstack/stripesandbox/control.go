package stripesandbox

import (
	"encoding/json"
	"html/template"
	"net/http"
)

// controlRoutes serve the sandbox's own API under /_sandbox/, for people in `make dev` and
// for tests in other processes. Everything here is also a Go method on Server.
//
//	GET    /_sandbox/health
//	GET    /_sandbox/requests                     the request log
//	POST   /_sandbox/faults                       {"path_prefix","mode","times","method","latency_ms"}
//	DELETE /_sandbox/faults
//	POST   /_sandbox/webhooks                     {"mode":"deliver"|"pause"|"drop"}
//	POST   /_sandbox/events/{id}/deliver          send a stored event again now
//	GET    /_sandbox/authenticate/{pi}            a 3-D Secure challenge page
//	POST   /_sandbox/authenticate/{pi}            {"result":"succeed"|"fail"} (or a form field)
func (s *Server) controlRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /_sandbox/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"status": "ok"})
	})
	m.HandleFunc("GET /_sandbox/requests", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, s.Requests())
	})
	m.HandleFunc("POST /_sandbox/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			controlError(w, err)
			return
		}
		if err := s.InjectFault(f); err != nil {
			controlError(w, err)
			return
		}
		writeJSON(w, 200, f)
	})
	m.HandleFunc("DELETE /_sandbox/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		writeJSON(w, 200, map[string]string{"status": "cleared"})
	})
	m.HandleFunc("POST /_sandbox/webhooks", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Mode WebhookMode `json:"mode"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			controlError(w, err)
			return
		}
		if err := s.SetWebhookMode(body.Mode); err != nil {
			controlError(w, err)
			return
		}
		writeJSON(w, 200, body)
	})
	m.HandleFunc("POST /_sandbox/events/{id}/deliver", func(w http.ResponseWriter, r *http.Request) {
		status, err := s.DeliverEvent(r.PathValue("id"))
		if err != nil {
			controlError(w, err)
			return
		}
		writeJSON(w, 200, map[string]int{"receiver_status": status})
	})
	m.HandleFunc("GET /_sandbox/authenticate/{pi}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = challengePage.Execute(w, r.PathValue("pi"))
	})
	m.HandleFunc("POST /_sandbox/authenticate/{pi}", func(w http.ResponseWriter, r *http.Request) {
		result := r.FormValue("result")
		if result == "" {
			var body struct {
				Result string `json:"result"`
			}
			_ = json.NewDecoder(r.Body).Decode(&body)
			result = body.Result
		}
		if result != "succeed" && result != "fail" {
			controlError(w, errString(`result must be "succeed" or "fail"`))
			return
		}
		if err := s.Authenticate(r.PathValue("pi"), result == "succeed"); err != nil {
			controlError(w, err)
			return
		}
		writeJSON(w, 200, map[string]string{"payment_intent": r.PathValue("pi"), "result": result})
	})
}

type errString string

func (e errString) Error() string { return string(e) }

func controlError(w http.ResponseWriter, err error) {
	writeJSON(w, 400, map[string]string{"error": err.Error()})
}

var challengePage = template.Must(template.New("challenge").Parse(`<!doctype html>
<title>3-D Secure (Durapay Stripe sandbox)</title>
<h1>3-D Secure challenge for {{.}}</h1>
<p>This page stands in for the card issuer's authentication window.</p>
<form method="post"><button name="result" value="succeed">Complete authentication</button>
<button name="result" value="fail">Fail authentication</button></form>
`))
