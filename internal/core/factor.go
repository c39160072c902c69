package core

import (
	"context"
	"time"
)

// TOTPFactor is a user's authenticator app (RFC 6238).
type TOTPFactor struct {
	UserID int64
	// SecretEnc is the shared secret sealed with the instance secret.
	SecretEnc []byte
	// ConfirmedAt is nil until the user entered a first code: an
	// unconfirmed secret is not a factor yet.
	ConfirmedAt *time.Time
	// LastStep is the last time step accepted: no code of it or an earlier
	// step is accepted again.
	LastStep  int64
	CreatedAt time.Time
}

// Passkey is a WebAuthn credential of a user.
type Passkey struct {
	ID           int64
	UserID       int64
	CredentialID []byte
	Name         string
	// Credential is the WebAuthn library's credential record as JSON.
	Credential []byte
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// FactorStore holds second factors and the sign-in policy they serve.
type FactorStore interface {
	// SaveTOTP stores an unconfirmed authenticator secret, replacing the
	// user's previous one.
	SaveTOTP(ctx context.Context, f *TOTPFactor) error
	TOTPFactor(ctx context.Context, userID int64) (*TOTPFactor, error)
	// UseTOTPStep records step as the last one accepted, confirming the
	// factor if it was not: EConflict when step is not later than the last
	// accepted (a code used twice), ENotFound without a factor.
	UseTOTPStep(ctx context.Context, userID, step int64, at time.Time) error
	DeleteTOTP(ctx context.Context, userID int64) error

	// ReplaceRecoveryCodes sets the user's recovery codes (their digests),
	// dropping the previous ones.
	ReplaceRecoveryCodes(ctx context.Context, userID int64, digests [][]byte) error
	// UseRecoveryCode spends an unused code: ENotFound when there is none
	// with that digest (unknown or already used).
	UseRecoveryCode(ctx context.Context, userID int64, digest []byte, at time.Time) error
	// RecoveryCodesLeft counts the unused codes.
	RecoveryCodesLeft(ctx context.Context, userID int64) (int, error)

	// CreatePasskey returns EConflict when the credential ID is held.
	CreatePasskey(ctx context.Context, p *Passkey) error
	Passkeys(ctx context.Context, userID int64) ([]Passkey, error)
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*Passkey, error)
	// UpdatePasskeyUse stores the credential after a sign-in (its new
	// signature counter) and when it was used.
	UpdatePasskeyUse(ctx context.Context, id int64, credential []byte, at time.Time) error
	RenamePasskey(ctx context.Context, userID, id int64, name string) error
	DeletePasskey(ctx context.Context, userID, id int64) error

	// HasSecondFactor reports whether the user has a confirmed
	// authenticator app or a passkey.
	HasSecondFactor(ctx context.Context, userID int64) (bool, error)
	// DeleteUserFactors removes every factor and recovery code of the user.
	DeleteUserFactors(ctx context.Context, userID int64) error

	// SetSessionVerified records that the session's user proved who they
	// are at at (a re-authentication).
	SetSessionVerified(ctx context.Context, digest []byte, at time.Time) error

	RequiresSecondFactor(ctx context.Context, orgID int64) (bool, error)
	SetRequireSecondFactor(ctx context.Context, orgID int64, require bool) error
}
