package core

import "time"

// Organization is a tenant: a vendor's company or a solo developer's account.
type Organization struct {
	ID        int64
	Name      string
	Slug      string
	CreatedAt time.Time
	UpdatedAt time.Time

	// Issue 15: the operator's plan (0: none, no limits), the owners'
	// policy and the organization-wide license defaults.
	PlanID          int64
	Policy          Policy
	LicenseDefaults LicenseDefaults
}

// User is a person who signs in to the dashboard and owns API keys.
type User struct {
	ID           int64
	Email        string // stored lower-case; unique
	Name         string
	PasswordHash string // bcrypt; never leaves the service
	Disabled     bool   // a disabled user's keys and sessions stop working
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Membership ties a user to an organization with a role.
type Membership struct {
	OrgID     int64
	UserID    int64
	Role      Role
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Member is a membership with the user's details, for listings.
type Member struct {
	Membership
	Email    string
	Name     string
	Disabled bool
}

// Invitation is a membership an owner offered to an email: the invited
// person opens the link carrying its token (only the token's digest is
// stored) within InvitationTTL and joins, with a new account or the one the
// email already has. It is used once and can be revoked before.
type Invitation struct {
	ID         int64
	OrgID      int64
	Email      string
	Role       Role
	Digest     []byte // of the token; nil for invitations of the earlier model until resent
	InvitedBy  string // audit label of the owner who invited
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt *time.Time
	RevokedAt  *time.Time
	OrgName    string // of the organization, when read by digest
}

// Pending reports whether the invitation can still be accepted at now.
func (i *Invitation) Pending(now time.Time) bool {
	return i.AcceptedAt == nil && i.RevokedAt == nil && len(i.Digest) > 0 && now.Before(i.ExpiresAt)
}

// PasswordReset is a one-time password reset: the digest of the token
// mailed to the user, valid until ExpiresAt.
type PasswordReset struct {
	Digest    []byte
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// MemberOrg is a membership with the organization's details.
type MemberOrg struct {
	Membership
	OrgName string
	OrgSlug string
}

// Session is a signed-in dashboard session. Only the digest of its token is
// stored.
type Session struct {
	Digest     []byte
	UserID     int64
	OrgID      int64 // the organization currently selected
	CSRFToken  string
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	// VerifiedAt is when the user last proved who they are in this
	// session: the sign-in, or a re-authentication.
	VerifiedAt time.Time
}
