package view

import "github.com/latchkey/latchkey/internal/core"

// Seat is a live concurrent seat of a license.
type Seat struct {
	ID              int64  `json:"id"`
	LicenseID       int64  `json:"license_id"`
	Instance        string `json:"instance"`
	IP              string `json:"ip"`
	CreatedAt       string `json:"created_at"`
	LastHeartbeatAt string `json:"last_heartbeat_at"`
	ExpiresAt       string `json:"expires_at"`
}

// SeatOf returns the seat's view.
func SeatOf(s *core.Seat) Seat {
	return Seat{ID: s.ID, LicenseID: s.LicenseID, Instance: s.Instance, IP: s.IP, CreatedAt: TimeV(s.CreatedAt),
		LastHeartbeatAt: TimeV(s.LastHeartbeatAt), ExpiresAt: TimeV(s.ExpiresAt)}
}
