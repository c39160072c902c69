package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/service"
)

// keyJSON is an API key as the API shows it: never the secret (except
// right after creation or rotation) and never the digest.
type keyJSON struct {
	ID                 int64    `json:"id"`
	Name               string   `json:"name"`
	Description        string   `json:"description"`
	PublicID           string   `json:"public_id"`
	Prefix             string   `json:"prefix"`
	Last4              string   `json:"last4"`
	Display            string   `json:"display"`
	ProjectID          *int64   `json:"project_id"`
	UserID             int64    `json:"user_id"`
	Scopes             []string `json:"scopes"`
	Env                string   `json:"env"`
	AllowedIPs         []string `json:"allowed_ips"`
	RateLimitPerMinute *int     `json:"rate_limit_per_minute"`
	Status             string   `json:"status"`
	ExpiresAt          *string  `json:"expires_at"`
	RevokedAt          *string  `json:"revoked_at"`
	RotatedToID        *int64   `json:"rotated_to_id"`
	LastUsedAt         *string  `json:"last_used_at"`
	LastUsedIP         *string  `json:"last_used_ip"`
	CreatedBy          string   `json:"created_by"`
	CreatedAt          string   `json:"created_at"`
	UpdatedAt          string   `json:"updated_at"`
	Secret             string   `json:"secret,omitempty"`
}

func optID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// keyView renders k, merging the uses this node counted but has not yet
// written, so that last_used_at is current on the node that served them.
func (h *api) keyView(k *core.APIKey) keyJSON {
	last, lastIP := k.LastUsedAt, k.LastUsedIP
	if t, ip, _ := h.auth.usage.Pending(k.ID); !t.IsZero() && (last == nil || t.After(*last)) {
		last, lastIP = &t, ip.String()
	}
	ips := make([]string, len(k.AllowedIPs))
	for i, p := range k.AllowedIPs {
		ips[i] = p.String()
	}
	v := keyJSON{
		ID: k.ID, Name: k.Name, Description: k.Description, PublicID: k.PublicID,
		Prefix: "sk_" + k.Env + "_", Last4: k.Last4, Display: keys.Display(k.Env, k.Last4),
		ProjectID: optID(k.ProjectID), UserID: k.UserID, Scopes: k.Scopes.Strings(), Env: k.Env,
		AllowedIPs: ips, Status: k.Status(h.now()), ExpiresAt: jsonTime(k.ExpiresAt), RevokedAt: jsonTime(k.RevokedAt),
		RotatedToID: optID(k.RotatedTo), LastUsedAt: jsonTime(last), CreatedBy: k.CreatedBy,
		CreatedAt: jsonTimeV(k.CreatedAt), UpdatedAt: jsonTimeV(k.UpdatedAt),
	}
	if k.RateLimit != 0 {
		rl := k.RateLimit
		v.RateLimitPerMinute = &rl
	}
	if lastIP != "" {
		v.LastUsedIP = &lastIP
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
	var next *string
	if len(ks) > n {
		ks = ks[:n]
		c := h.cursors.encode(list, ks[n-1].ID)
		next = &c
	}
	out := make([]keyJSON, len(ks))
	for i := range ks {
		out[i] = h.keyView(&ks[i])
	}
	return ok(w, http.StatusOK, "", page{Data: out, NextCursor: next, PerPage: n, Path: r.URL.Path})
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
