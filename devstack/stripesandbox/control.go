package stripesandbox

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
	"time"
)

// controlRoutes serve the sandbox's own API under /_sandbox/, for people in `make dev` and
// for tests in other processes. Everything here is also a Go method on Server.
//
//	GET    /_sandbox/health
//	GET    /_sandbox/requests                     the request log
//	POST   /_sandbox/faults                       {"path_prefix","mode","times","method","latency_ms"}
//	DELETE /_sandbox/faults
//	POST   /_sandbox/webhooks                     {"mode":"deliver"|"pause"|"drop"}
//	POST   /_sandbox/idempotency/forget           forget every saved idempotent result (Stripe's 24 h passing)
//	POST   /_sandbox/search_lag                   {"seconds": 60}: search misses PaymentIntents that young
//	POST   /_sandbox/events/{id}/deliver          send a stored event again now
//	GET    /_sandbox/authenticate/{pi}            a 3-D Secure challenge page
//	POST   /_sandbox/authenticate/{pi}            {"result":"succeed"|"fail"} (or a form field)
//	GET    /_sandbox/connect/onboard/{account}    Connect onboarding page (?link= from an account link)
//	POST   /_sandbox/connect/onboard/{account}    {"result":"complete"|"partial"|"new_requirement"} (or a form field)
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
	m.HandleFunc("POST /_sandbox/search_lag", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Seconds int `json:"seconds"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Seconds < 0 {
			controlError(w, errString("seconds must be a non-negative integer"))
			return
		}
		s.SetSearchLag(time.Duration(body.Seconds) * time.Second)
		writeJSON(w, 200, body)
	})
	m.HandleFunc("POST /_sandbox/idempotency/forget", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]int{"forgotten": s.ForgetIdempotencyKeys()})
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
		result := resultParam(r)
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
	m.HandleFunc("GET /_sandbox/connect/onboard/{account}", func(w http.ResponseWriter, r *http.Request) {
		view, redirect, err := s.onboardingVisit(r.PathValue("account"), r.URL.Query().Get("link"))
		switch {
		case err != nil:
			http.Error(w, err.Error(), http.StatusNotFound)
		case view == nil && redirect != "":
			http.Redirect(w, r, redirect, http.StatusFound) // expired or already visited link
		case view == nil:
			http.Error(w, "This account link has expired or was already used.", http.StatusGone)
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_ = onboardingPage.Execute(w, view)
		}
	})
	m.HandleFunc("POST /_sandbox/connect/onboard/{account}", func(w http.ResponseWriter, r *http.Request) {
		acct := r.PathValue("account")
		result := resultParam(r)
		returnURL := ""
		if link := r.FormValue("link"); link != "" {
			var err error
			if returnURL, err = s.onboardingLink(acct, link); err != nil {
				controlError(w, err)
				return
			}
		}
		if err := s.CompleteOnboarding(acct, result); err != nil {
			controlError(w, err)
			return
		}
		if returnURL != "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			http.Redirect(w, r, returnURL, http.StatusSeeOther) // back to the platform, as Stripe does
			return
		}
		writeJSON(w, 200, map[string]string{"account": acct, "result": result})
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

var onboardingPage = template.Must(template.New("onboarding").Parse(`<!doctype html>
<title>Connect onboarding (Durapay Stripe sandbox)</title>
<h1>Onboarding for {{.Account}}</h1>
<p>This page stands in for Stripe's hosted Connect onboarding{{if .LinkType}} ({{.LinkType}}){{end}}.</p>
<ul>
<li>Type: {{.Type}}</li>
{{if .Name}}<li>Business: {{.Name}}</li>{{end}}
{{if .Email}}<li>Email: {{.Email}}</li>{{end}}
<li>Details submitted: {{.DetailsSubmitted}}; charges enabled: {{.ChargesEnabled}}; payouts enabled: {{.PayoutsEnabled}}</li>
<li>Currently due: {{range $i, $f := .CurrentlyDue}}{{if $i}}, {{end}}<code>{{$f}}</code>{{else}}nothing{{end}}</li>
</ul>
<form method="post" action="{{.Action}}">
<button name="result" value="complete">Submit all details</button>
<button name="result" value="partial">Submit some details</button>
<button name="result" value="new_requirement">Stripe asks for more (new requirement)</button>
</form>
{{if .ReturnURL}}<p>Afterwards you return to <code>{{.ReturnURL}}</code>.</p>{{end}}
`))

// resultParam is the result a control request asks for, from a form (the sandbox's pages)
// or a JSON body (tests and curl).
func resultParam(r *http.Request) string {
	if result := r.FormValue("result"); result != "" {
		return result
	}
	var body struct {
		Result string `json:"result"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	return body.Result
}
