package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/view"
)

type auditJSON struct {
	ID         int64           `json:"id"`
	ActorType  string          `json:"actor_type"`
	ActorID    int64           `json:"actor_id"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   int64           `json:"target_id"`
	ProjectID  *int64          `json:"project_id"`
	IP         string          `json:"ip"`
	UserAgent  string          `json:"user_agent"`
	Details    json.RawMessage `json:"details"`
	CreatedAt  string          `json:"created_at"`
}

// auditList names one audit listing for its cursors: the organization, the
// caller's project scope and every filter as parsed, so a cursor taken with
// other filters is refused instead of paging another result set from a
// position it never reached. Strings are quoted, so no value can pass for
// another field.
func auditList(a *core.Actor, f core.AuditFilter) string {
	at := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("audit/%d/%d/%q/%q/%q/%d/%d/%d/%s/%s", a.OrgID, a.ProjectID, f.Action, f.ActorType, f.TargetType,
		f.ActorID, f.TargetID, f.ProjectID, at(f.Since), at(f.Until))
}

func (h *api) listAudit(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	q := r.URL.Query()
	f := core.AuditFilter{Action: q.Get("action"), ActorType: q.Get("actor_type"), TargetType: q.Get("target_type")}
	p := core.Problems{}
	for name, dst := range map[string]*int64{"actor_id": &f.ActorID, "target_id": &f.TargetID, "project_id": &f.ProjectID} {
		if s := q.Get(name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				p.Add(name, "The "+label(name)+" field must be an integer.")
			}
			*dst = n
		}
	}
	for name, dst := range map[string]**time.Time{"since": &f.Since, "until": &f.Until} {
		if s := q.Get(name); s != "" {
			t, err := parseTime(s)
			if err != nil {
				p.Add(name, "The "+name+" field must be a valid date.")
			}
			*dst = &t
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	list := auditList(a, f)
	before, err := h.cursors.decode(list, q.Get("cursor"))
	if err != nil {
		return err
	}
	f.BeforeID = before
	n := perPage(r, 50, 100)
	f.Limit = n + 1
	events, err := h.svc.ListAudit(r.Context(), a, f)
	if err != nil {
		return err
	}
	var next *string
	if len(events) > n {
		events = events[:n]
		c := h.cursors.encode(list, events[n-1].ID)
		next = &c
	}
	out := make([]auditJSON, len(events))
	for i, e := range events {
		d := e.Details
		if len(d) == 0 {
			d = json.RawMessage("{}")
		}
		out[i] = auditJSON{ID: e.ID, ActorType: e.ActorType, ActorID: e.ActorID, Actor: e.ActorLabel, Action: e.Action,
			TargetType: e.TargetType, TargetID: e.TargetID, ProjectID: view.OptID(e.ProjectID), IP: e.IP, UserAgent: e.UserAgent,
			Details: d, CreatedAt: view.TimeV(e.CreatedAt)}
	}
	return ok(w, http.StatusOK, "", page{Data: out, NextCursor: next, HasMore: next != nil, PerPage: n, Path: r.URL.Path})
}
