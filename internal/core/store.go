package core

import (
	"context"
	"time"
)

// Store is the persistence contract. Two backends implement it (SQLite and
// PostgreSQL, see internal/store) and one conformance suite
// (internal/store/storetest) holds both to it.
//
// Unless stated otherwise, methods return an *Error with ENotFound when the
// row does not exist and EConflict when a unique rule is broken; any other
// error is internal. Creating methods fill in the ID and timestamps of the
// value they are given.
type Store interface {
	AccountStore
	SessionStore
	APIKeyStore
	ProjectStore
	DomainStore
	LicenseStore
	InjectableStore
	AuditStore
	SettingStore
	WebhookStore
	SeatStore
	ActivationStore
	PlanStore
	SigningKeyStore
	NodeStore
	IdempotencyStore
	FactorStore
	InsightStore

	// Publish tells other nodes sharing the database that c happened. Inside
	// InTx it is delivered only if the transaction commits. A backend with
	// one node (SQLite) does nothing.
	Publish(ctx context.Context, c Change) error
	// InTx runs fn in one transaction: every write made through the Store
	// passed to fn commits together or not at all. fn must not retain it.
	InTx(ctx context.Context, fn func(Store) error) error
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Dialect names the backend: "sqlite" or "postgres".
	Dialect() string
	// Close releases the connections.
	Close() error
}

// AccountStore holds organizations, users and memberships.
type AccountStore interface {
	CreateOrganization(ctx context.Context, o *Organization) error
	Organization(ctx context.Context, id int64) (*Organization, error)
	OrganizationByName(ctx context.Context, name string) (*Organization, error)
	OrganizationBySlug(ctx context.Context, slug string) (*Organization, error)
	// RenameOrganization returns EConflict when another organization has
	// the name (case-insensitively).
	RenameOrganization(ctx context.Context, id int64, name string) (*Organization, error)
	// DeleteOrganization removes the organization and everything it holds;
	// sessions of members of other organizations move to one of those.
	DeleteOrganization(ctx context.Context, id int64) error

	CreateUser(ctx context.Context, u *User) error
	User(ctx context.Context, id int64) (*User, error)
	// UserByEmail matches case-insensitively.
	UserByEmail(ctx context.Context, email string) (*User, error)
	UpdateUser(ctx context.Context, id int64, upd UserUpdate) (*User, error)
	CountUsers(ctx context.Context) (int, error)

	// CreateMembership returns EConflict if the user is already a member.
	CreateMembership(ctx context.Context, m *Membership) error
	Membership(ctx context.Context, orgID, userID int64) (*Membership, error)
	UpdateMembershipRole(ctx context.Context, orgID, userID int64, role Role) error
	DeleteMembership(ctx context.Context, orgID, userID int64) error
	// ListMembers returns the organization's members, oldest first.
	ListMembers(ctx context.Context, orgID int64) ([]Member, error)
	// ListUserOrganizations returns the user's memberships, oldest first.
	ListUserOrganizations(ctx context.Context, userID int64) ([]MemberOrg, error)
	// CreateInvitation inserts an invitation, or renews the one pending
	// (neither accepted nor revoked) for the same organization and email:
	// its role, token, inviter and dates are replaced, its ID kept.
	CreateInvitation(ctx context.Context, inv *Invitation) error
	// ListInvitations returns an organization's pending invitations
	// (expired ones included, for resending), oldest first.
	ListInvitations(ctx context.Context, orgID int64) ([]Invitation, error)
	// Invitation returns one of an organization's invitations; ENotFound
	// when there is none.
	Invitation(ctx context.Context, orgID, id int64) (*Invitation, error)
	// InvitationByDigest returns the invitation of a token, with its
	// organization's name, whatever its state; ENotFound when unknown.
	InvitationByDigest(ctx context.Context, digest []byte) (*Invitation, error)
	// RenewInvitation gives a pending invitation a new token and expiry;
	// ENotFound when it is not pending.
	RenewInvitation(ctx context.Context, orgID, id int64, digest []byte, expires time.Time) error
	// RevokeInvitation ends a pending invitation; ENotFound when it is not
	// pending.
	RevokeInvitation(ctx context.Context, orgID, id int64, at time.Time) error
	// UseInvitation marks an invitation accepted by userID if it is still
	// pending and unexpired at `at`, atomically (one use); ENotFound
	// otherwise.
	UseInvitation(ctx context.Context, id, userID int64, at time.Time) error

	// CreatePasswordReset stores a reset token's digest, and drops the
	// user's resets that expired.
	CreatePasswordReset(ctx context.Context, pr *PasswordReset) error
	// PasswordReset returns a reset usable at now; ENotFound otherwise.
	PasswordReset(ctx context.Context, digest []byte, now time.Time) (*PasswordReset, error)
	// UsePasswordReset spends a reset usable at `at`, atomically (one
	// use), deletes the user's other resets and returns the user's ID;
	// ENotFound when the reset is unknown, used or expired.
	UsePasswordReset(ctx context.Context, digest []byte, at time.Time) (int64, error)
}

// UserUpdate changes the fields that are set.
type UserUpdate struct {
	Name         *string
	PasswordHash *string
	Disabled     *bool
}

// SessionStore holds dashboard sessions, by the digest of their token.
type SessionStore interface {
	CreateSession(ctx context.Context, s *Session) error
	// SessionByDigest returns ENotFound for unknown or expired sessions.
	SessionByDigest(ctx context.Context, digest []byte, now time.Time) (*Session, error)
	// UpdateSession moves a session to another organization and records
	// its last activity and new expiry.
	UpdateSession(ctx context.Context, digest []byte, orgID int64, lastSeen, expires time.Time) error
	DeleteSession(ctx context.Context, digest []byte) error
	// DeleteUserSessions ends the user's sessions in orgID, or everywhere
	// when orgID is 0.
	DeleteUserSessions(ctx context.Context, userID, orgID int64) error
}

// APIKeyStore holds API keys and their usage.
type APIKeyStore interface {
	// CreateAPIKey returns EConflict when the digest or public ID exists.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	APIKey(ctx context.Context, id int64) (*APIKey, error)
	// APIKeyOwnerByDigest returns the key with its owner's current role and
	// standing in one query; the authentication path needs nothing else.
	APIKeyOwnerByDigest(ctx context.Context, digest []byte) (*KeyOwner, error)
	ListAPIKeys(ctx context.Context, f APIKeyFilter) ([]APIKey, error)
	UpdateAPIKey(ctx context.Context, id int64, upd APIKeyUpdate) (*APIKey, error)
	// RevokeAPIKey sets revoked_at unless it is already set; it returns the
	// key as stored afterwards.
	RevokeAPIKey(ctx context.Context, id int64, at time.Time) (*APIKey, error)
	// RetireAPIKey marks id as replaced by newID and moves its expiry to at
	// when that is earlier than its own.
	RetireAPIKey(ctx context.Context, id, newID int64, at time.Time) (*APIKey, error)
	// RecordKeyUses applies a batch of aggregated uses. last_used_at only
	// moves forward, so batches from several nodes may arrive in any order.
	RecordKeyUses(ctx context.Context, uses []KeyUse) error
	// RevokeUserKeys revokes every live key of the user in the organization
	// and returns them as revoked.
	RevokeUserKeys(ctx context.Context, orgID, userID int64, at time.Time) ([]APIKey, error)
	// KeyUsage returns per-day request counts for the key in [from, to].
	KeyUsage(ctx context.Context, keyID int64, from, to string) ([]DayCount, error)
}

// ProjectStore holds projects. Deleted projects are invisible to every
// method.
type ProjectStore interface {
	// CreateProject returns EConflict when the slug is taken in the
	// organization.
	CreateProject(ctx context.Context, p *Project) error
	Project(ctx context.Context, id int64) (*Project, error)
	ProjectBySlug(ctx context.Context, orgID int64, slug string) (*Project, error)
	ListProjects(ctx context.Context, f ProjectFilter) ([]Project, error)
	UpdateProject(ctx context.Context, id int64, upd ProjectUpdate) (*Project, error)
	// DeleteProject soft-deletes the project and revokes the API keys bound
	// to it.
	DeleteProject(ctx context.Context, id int64, at time.Time) error
}

// DomainStore holds project domains.
type DomainStore interface {
	// CreateDomain returns EConflict when the project has the domain.
	// A primary domain demotes the project's other one.
	CreateDomain(ctx context.Context, d *Domain) error
	Domain(ctx context.Context, id int64) (*Domain, error)
	ListDomains(ctx context.Context, f DomainFilter) ([]Domain, error)
	UpdateDomain(ctx context.Context, id int64, upd DomainUpdate) (*Domain, error)
	// DeleteDomain unpins the licenses pinned to it.
	DeleteDomain(ctx context.Context, id int64) error
}

// LicenseStore holds licenses.
type LicenseStore interface {
	// CreateLicense returns EConflict when the title is taken in the
	// project, or the external ID (then Fields names external_id).
	CreateLicense(ctx context.Context, l *License) error
	License(ctx context.Context, id int64) (*License, error)
	LicenseByDigest(ctx context.Context, digest []byte) (*License, error)
	// ListLicenses returns at most 10,001 licenses a page.
	ListLicenses(ctx context.Context, f LicenseFilter) ([]License, error)
	// CountMatchingLicenses counts what f selects, ignoring its cursor and
	// limit.
	CountMatchingLicenses(ctx context.Context, f LicenseFilter) (int64, error)
	CountLicenses(ctx context.Context, projectID int64) (map[string]int64, error)
	UpdateLicense(ctx context.Context, id int64, upd LicenseUpdate) (*License, error)
	// DeleteLicense removes the license with its activations and usage.
	DeleteLicense(ctx context.Context, id int64) error

	// ListActivations returns the identifiers that used the license, oldest
	// first.
	ListActivations(ctx context.Context, licenseID int64) ([]Activation, error)
	// RecordValidation applies w atomically and returns WriteOK or the rule
	// it would have broken (then nothing is written). It is safe under any
	// concurrency: a cap of N admits exactly N uses a day.
	RecordValidation(ctx context.Context, w ValidationWrite) (outcome string, count int64, err error)
	// RecordLicenseUses adds counted uses and activations seen; activation
	// times only move forward.
	RecordLicenseUses(ctx context.Context, uses []LicenseUse) error
	// LicenseUsage returns per-day passing validations in [from, to].
	LicenseUsage(ctx context.Context, licenseID int64, from, to string) ([]DayCount, error)
}

// InjectableStore holds injectables.
type InjectableStore interface {
	// CreateInjectable returns EConflict when the slug is taken in the
	// project.
	CreateInjectable(ctx context.Context, i *Injectable) error
	Injectable(ctx context.Context, id int64) (*Injectable, error)
	ListInjectables(ctx context.Context, f InjectableFilter) ([]Injectable, error)
	UpdateInjectable(ctx context.Context, id int64, upd InjectableUpdate) (*Injectable, error)
	DeleteInjectable(ctx context.Context, id int64) error
}

// SettingStore holds instance-wide settings.
type SettingStore interface {
	// Setting returns ENotFound when the setting was never stored.
	Setting(ctx context.Context, name string) (string, error)
	// InitSetting stores value unless the setting exists, and returns the
	// value stored in the end.
	InitSetting(ctx context.Context, name, value string) (string, error)
}

// AuditStore holds the audit log.
type AuditStore interface {
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// ListAudit returns events newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}
