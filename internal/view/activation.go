package view

import "github.com/latchkey/latchkey/internal/core"

// Activation is a runtime identifier that used a license, with its latest
// sighting. Empty country and user agent are shown as null (unknown).
type Activation struct {
	ID          int64   `json:"id"`
	LicenseID   int64   `json:"license_id"`
	Identifier  string  `json:"identifier"`
	BaseDomain  string  `json:"base_domain"`
	FirstSeenAt string  `json:"first_seen_at"`
	LastSeenAt  string  `json:"last_seen_at"`
	LastIP      *string `json:"last_ip"`
	Country     *string `json:"country"`
	UserAgent   *string `json:"user_agent"`
}

// ActivationOf renders an activation.
func ActivationOf(a *core.Activation) Activation {
	return Activation{ID: a.ID, LicenseID: a.LicenseID, Identifier: a.Identifier, BaseDomain: a.BaseDomain,
		FirstSeenAt: TimeV(a.FirstSeenAt), LastSeenAt: TimeV(a.LastSeenAt), LastIP: optText(a.LastIP),
		Country: optText(a.Country), UserAgent: optText(a.UserAgent)}
}

func optText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
