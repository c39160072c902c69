package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/view"
)

// keyView renders k, merging the uses this node counted but has not yet
// written, so that last_used_at is current on the node that served them.
func (h *api) keyView(k *core.APIKey) view.APIKey {
	v := view.APIKeyOf(k, h.now())
	if t, ip, _ := h.auth.usage.Pending(k.ID); !t.IsZero() && (k.LastUsedAt == nil || t.After(*k.LastUsedAt)) {
		s := ip.String()
		v.LastUsedAt, v.LastUsedIP = view.Time(&t), &s
	}
	return v
}

func (h *api) createKey(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	in := service.KeyInput{}
	in.Name, _ = b.str("name")
	in.Description, _ = b.str("description")
	if id, ok := b.integer("project_id"); ok {
		if id <= 0 {
			b.problems().Add("project_id", "The selected project id is invalid.")
		}
		in.ProjectID = id
	}
	if scopes, ok := b.strList("scopes"); ok {
		in.Scopes = scopes
	}
	in.Env, _ = b.str("env")
	in.ExpiresAt, _ = b.date("expires_at")
	in.AllowedIPs, _ = b.strList("allowed_ips")
	if n, ok := b.integer("rate_limit_per_minute"); ok {
		in.RateLimit = int(min(max(n, -1), service.MaxKeyRateLimit+1))
	}
	in.Problems = b.p
	k, secret, err := h.svc.CreateAPIKey(r.Context(), actorFrom(r), actorFrom(r).UserID, in)
	if err != nil {
		return err
	}
	v := h.keyView(k)
	v.Secret = secret
	return ok(w, http.StatusCreated, "API key created. Copy the secret now: it is not shown again.", v)
}

func (h *api) listKeys(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r)
	list := "api-keys/" + strconv.FormatInt(a.OrgID, 10) + "/" + strconv.FormatInt(a.ProjectID, 10) + "/" + strconv.FormatInt(a.UserID, 10)
	before, err := h.cursors.decode(list, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	n := perPage(r, 20, 50)
	ks, err := h.svc.ListAPIKeys(r.Context(), a, before, n+1)
	if err != nil {
		return err
	}
	return respondPage(h, w, r, list, ks, n, func(k *core.APIKey) int64 { return k.ID }, h.keyView)
}

func (h *api) showKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "API key")
	if err != nil {
		return err
	}
	k, err := h.svc.APIKey(r.Context(), actorFrom(r), id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "", h.keyView(k))
}

func (h *api) updateKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "API key")
	if err != nil {
		return err
	}
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	var in service.KeyUpdate
	if b.has("name") {
		s, _ := b.str("name")
		in.Name = &s
	}
	if b.has("description") {
		s, _ := b.str("description")
		in.Description = &s
	}
	if b.has("scopes") {
		s, ok := b.strList("scopes")
		if ok {
			in.Scopes = &s
		} else if b.isNull("scopes") {
			b.problems().Add("scopes", "The scopes field must hold at least one scope.")
		}
	}
	if b.has("expires_at") {
		t, _ := b.date("expires_at")
		in.ExpiresAt = &t
	}
	if b.has("allowed_ips") {
		ips, _ := b.strList("allowed_ips")
		if ips == nil {
			ips = []string{}
		}
		in.AllowedIPs = &ips
	}
	if b.has("rate_limit_per_minute") {
		n, _ := b.integer("rate_limit_per_minute")
		rl := int(min(max(n, -1), service.MaxKeyRateLimit+1))
		in.RateLimit = &rl
	}
	if b.has("enabled") {
		if b.isNull("enabled") {
			b.problems().Add("enabled", "The enabled field must be true or false.")
		} else if v, ok := b.boolean("enabled"); ok {
			in.Enabled = &v
		}
	}
	in.Problems = b.p
	k, err := h.svc.UpdateAPIKey(r.Context(), actorFrom(r), id, in)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "API key updated.", h.keyView(k))
}

func (h *api) revokeKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "API key")
	if err != nil {
		return err
	}
	if _, err := readBody(w, r, h.maxBody); err != nil {
		return err
	}
	k, err := h.svc.RevokeAPIKey(r.Context(), actorFrom(r), id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "API key revoked.", h.keyView(k))
}

func (h *api) rotateKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "API key")
	if err != nil {
		return err
	}
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	grace, _ := b.integer("grace_seconds")
	if err := b.err(); err != nil {
		return err
	}
	if grace < 0 || grace > service.MaxGraceSeconds {
		return core.Invalid("grace_seconds", "The grace seconds field must be between 0 and 86400.")
	}
	nk, secret, old, err := h.svc.RotateAPIKey(r.Context(), actorFrom(r), id, time.Duration(grace)*time.Second)
	if err != nil {
		return err
	}
	v := h.keyView(nk)
	v.Secret = secret
	return ok(w, http.StatusCreated, "API key rotated. Copy the new secret now: it is not shown again.",
		map[string]any{"key": v, "previous": h.keyView(old)})
}

func (h *api) keyUsage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "API key")
	if err != nil {
		return err
	}
	days := 30
	if s := r.URL.Query().Get("days"); s != "" {
		if days, err = strconv.Atoi(s); err != nil {
			return core.Invalid("days", "The days field must be an integer.")
		}
	}
	_, _, pending := h.auth.usage.Pending(id)
	series, err := h.svc.APIKeyUsage(r.Context(), actorFrom(r), id, days, pending)
	if err != nil {
		return err
	}
	k, err := h.svc.APIKey(r.Context(), actorFrom(r), id)
	if err != nil {
		return err
	}
	v := h.keyView(k)
	days2, total := dayView(series)
	return ok(w, http.StatusOK, "", map[string]any{
		"key_id": id, "days": days2, "total": total, "last_used_at": v.LastUsedAt, "last_used_ip": v.LastUsedIP,
	})
}

type dayJSON struct {
	Day   string `json:"day"`
	Count int64  `json:"count"`
}

func dayView(series []core.DayCount) ([]dayJSON, int64) {
	out := make([]dayJSON, len(series))
	var total int64
	for i, d := range series {
		out[i] = dayJSON{Day: d.Day, Count: d.Count}
		total += d.Count
	}
	return out, total
}
