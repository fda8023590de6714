package main

import (
	"context"
	"net/http"
	"strconv"

	"github.com/durapay/durapay/internal/domain/audit"
)

// audit records an action in the audit log.
func (s *server) audit(r *http.Request, action, resource, outcome string, details map[string]string) {
	actor := "anonymous"
	if p := principalFrom(r.Context()); p.KeyID != "" {
		actor = p.id()
	}
	s.record(r.Context(), audit.Entry{Actor: actor, Action: action, Resource: resource, Outcome: outcome,
		Remote: s.source(r), Details: details})
}

// record appends e to the audit log. The action has happened (or was refused) whatever the
// log says, so a failure to write it is logged and counted, loudly, rather than answered as
// the action's failure.
func (s *server) record(ctx context.Context, e audit.Entry) {
	if _, err := s.auditLog.Append(ctx, e); err != nil {
		s.metrics.auditFailures.Inc()
		loggerFrom(ctx).WithError(err).WithField("action", e.Action).Error("audit log write failed")
	}
}

// listAudit is GET /v1/admin/audit?after=&limit=: the log in order, for durapay-ctl audit
// verify, which checks the chain itself.
func (s *server) listAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	after, err := strconv.ParseInt(q.Get("after"), 10, 64)
	if q.Get("after") != "" && (err != nil || after < 0) {
		return newError(codeParameterInvalid, "after", "after must be a sequence number.")
	}
	limit, err := intParam(q, "limit", 500, 1, 1000)
	if err != nil {
		return err
	}
	entries, err := audit.List(r.Context(), s.pool, after, limit)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []audit.Entry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": entries})
	return nil
}

// listAuditAnchors is GET /v1/admin/audit/anchors?starting_after=&limit=: the anchors of the
// audit log, oldest first, read from their bucket, for durapay-ctl audit verify, which
// checks the chain against them. starting_after is an anchor's object.
func (s *server) listAuditAnchors(w http.ResponseWriter, r *http.Request) error {
	limit, err := intParam(r.URL.Query(), "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	anchors, more, err := s.anchors.List(r.Context(), r.URL.Query().Get("starting_after"), limit)
	if err != nil {
		return err
	}
	writeList(w, anchors, more)
	return nil
}
