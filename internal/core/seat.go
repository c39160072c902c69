package core

import (
	"context"
	"time"
)

// Seat is one running copy (an instance: a machine or process ID chosen by
// the client) holding one of its license's max_concurrent slots until
// ExpiresAt. Seats are separate from activations: a license may be
// activated on five machines and run on two at once.
type Seat struct {
	ID              int64
	LicenseID       int64
	Instance        string
	IP              string // at the last heartbeat
	CreatedAt       time.Time
	LastHeartbeatAt time.Time
	ExpiresAt       time.Time
}

// SeatClaim asks for a seat, or renews the one the instance holds.
type SeatClaim struct {
	LicenseID int64
	Instance  string
	IP        string
	Max       int64 // at least 1
	TTL       time.Duration
	Now       time.Time
}

// Seat claim outcomes.
const (
	SeatHeld      = "held"      // claimed or renewed
	SeatExhausted = "exhausted" // every seat is held by another instance
)

// SeatOutcome is what a claim or a release did.
type SeatOutcome struct {
	Outcome string
	Seat    *Seat // the seat held; nil when refused or released
	// Held is the number of live seats afterwards.
	Held int64
	// NextFreeAt, when refused, is when the soonest live seat expires.
	NextFreeAt *time.Time
	// Released says whether a release removed a seat.
	Released bool
}

// SeatStore holds concurrent seats. An expired seat is never counted nor
// listed; the store deletes expired seats of a license when it claims one.
type SeatStore interface {
	// ClaimSeat renews the instance's live seat, or gives it a new one
	// while fewer than c.Max are live, in one transaction: exact under any
	// concurrency, on one node or many (the license row is locked on
	// PostgreSQL; SQLite has one writer). When more than c.Max seats are
	// live (the limit was lowered), only the c.Max oldest are renewed.
	// It returns ENotFound when the license does not exist.
	ClaimSeat(ctx context.Context, c SeatClaim) (SeatOutcome, error)
	// ReleaseSeat frees the instance's seat, if it holds one.
	ReleaseSeat(ctx context.Context, licenseID int64, instance string, now time.Time) (SeatOutcome, error)
	// ListSeats returns the license's live seats at now, oldest first.
	ListSeats(ctx context.Context, licenseID int64, now time.Time) ([]Seat, error)
	// DeleteSeat removes seat id of the license and returns it; ENotFound
	// when the license has no such seat.
	DeleteSeat(ctx context.Context, licenseID, id int64) (*Seat, error)
}
