package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/bcrypt"

	"github.com/latchkey/latchkey/internal/core"
)

// Second factors (docs/dashboard.md, "Sign-in security").
const (
	// totpBoxPurpose names the key that seals TOTP secrets at rest: a
	// database leak alone does not yield codes.
	totpBoxPurpose = "totp-secret"
	// TOTPIssuer is the name authenticator apps show beside the account.
	TOTPIssuer = "Latchkey"
	totpPeriod = 30
	// totpSkew accepts the previous and the next time step, for clocks a
	// little apart.
	totpSkew = 1
	// RecoveryCodeCount is how many recovery codes a user holds.
	RecoveryCodeCount = 10
	// maxPasskeyName bounds a passkey's name.
	maxPasskeyName = 100
)

var (
	errBadCode = core.Invalid("code", "This code is not right: enter the current code of your authenticator app or a recovery code.")
	errNoCode  = core.Invalid("code", "The code field is required.")
)

// SecondFactorRequired answers a right password of a user with a second
// factor: the sign-in goes on with the factor, for UserID in OrgID.
type SecondFactorRequired struct {
	UserID int64
	OrgID  int64
}

func (e *SecondFactorRequired) Error() string { return "a second factor is required" }

// totpKey rebuilds the otpauth key of a secret, for the enrolment page.
func totpKey(email, secret string) (*otp.Key, error) {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", TOTPIssuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	v.Set("period", "30")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + TOTPIssuer + ":" + email, RawQuery: v.Encode()}
	return otp.NewKeyFromURL(u.String())
}

// TOTPEnrolment returns the authenticator secret being enrolled (creating
// one when there is none), for the QR code and the text form. A user with
// a confirmed authenticator must remove it first.
func (s *Service) TOTPEnrolment(ctx context.Context, u *core.User) (*otp.Key, error) {
	f, err := s.store.TOTPFactor(ctx, u.ID)
	if err == nil && f.ConfirmedAt != nil {
		return nil, &core.Error{Code: core.EConflict, Message: "You have an authenticator app already: remove it first."}
	}
	if err == nil {
		secret, err := s.totpBox.Open(f.SecretEnc)
		if err != nil {
			return nil, err
		}
		return totpKey(u.Email, string(secret))
	}
	if !core.IsCode(err, core.ENotFound) {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: TOTPIssuer, AccountName: u.Email, Period: totpPeriod, Rand: rand.Reader})
	if err != nil {
		return nil, err
	}
	if err := s.store.SaveTOTP(ctx, &core.TOTPFactor{UserID: u.ID, SecretEnc: s.totpBox.Seal([]byte(key.Secret()))}); err != nil {
		return nil, err
	}
	return key, nil
}

// TOTPConfirmed reports whether the user has a confirmed authenticator app.
func (s *Service) TOTPConfirmed(ctx context.Context, userID int64) (bool, error) {
	f, err := s.store.TOTPFactor(ctx, userID)
	if core.IsCode(err, core.ENotFound) {
		return false, nil
	}
	return err == nil && f.ConfirmedAt != nil, err
}

// checkTOTP accepts a code of the user's authenticator once: every step
// of the window is compared in constant time, and the store refuses a
// step not later than the last one accepted.
func (s *Service) checkTOTP(ctx context.Context, userID int64, code string, confirming bool) error {
	f, err := s.store.TOTPFactor(ctx, userID)
	if core.IsCode(err, core.ENotFound) {
		return errBadCode
	}
	if err != nil {
		return err
	}
	if (f.ConfirmedAt == nil) != confirming {
		return errBadCode
	}
	secret, err := s.totpBox.Open(f.SecretEnc)
	if err != nil {
		return err
	}
	now := s.now()
	step := now.Unix() / totpPeriod
	matched := int64(-1)
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totp.GenerateCodeCustom(string(secret), time.Unix((step+d)*totpPeriod, 0),
			totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched = step + d
		}
	}
	if matched < 0 {
		return errBadCode
	}
	if err := s.store.UseTOTPStep(ctx, userID, matched, now); core.IsCode(err, core.EConflict) {
		return core.Invalid("code", "This code was used already: wait for the next one.")
	} else if err != nil {
		return err
	}
	return nil
}

// ConfirmTOTP makes the authenticator being enrolled a factor, with a
// first code from it. It returns the new recovery codes when the user had
// none (shown once), else nil.
func (s *Service) ConfirmTOTP(ctx context.Context, actor *core.Actor, code string) ([]string, error) {
	code = normaliseCode(code)
	if code == "" {
		return nil, errNoCode
	}
	if err := s.checkTOTP(ctx, actor.UserID, code, true); err != nil {
		return nil, err
	}
	codes, err := s.ensureRecoveryCodes(ctx, actor.UserID)
	if err != nil {
		return nil, err
	}
	return codes, s.auditUser(ctx, actor, "user.factor_enrolled", map[string]any{"factor": "totp"})
}

// RemoveTOTP removes the user's authenticator app.
func (s *Service) RemoveTOTP(ctx context.Context, actor *core.Actor) error {
	if err := s.store.DeleteTOTP(ctx, actor.UserID); err != nil {
		return err
	}
	if err := s.dropRecoveryCodesWithoutFactor(ctx, actor.UserID); err != nil {
		return err
	}
	return s.auditUser(ctx, actor, "user.factor_removed", map[string]any{"factor": "totp"})
}

// dropRecoveryCodesWithoutFactor removes the recovery codes of a user whose
// last factor went: a recovery code stands in for a factor, not for the
// password.
func (s *Service) dropRecoveryCodesWithoutFactor(ctx context.Context, userID int64) error {
	has, err := s.store.HasSecondFactor(ctx, userID)
	if err != nil || has {
		return err
	}
	return s.store.ReplaceRecoveryCodes(ctx, userID, nil)
}

// auditUser records an event about the actor's own account.
func (s *Service) auditUser(ctx context.Context, actor *core.Actor, action string, details any) error {
	return audit(ctx, s.store, actor.Audit(action, "user", actor.UserID, 0, details))
}

// normaliseCode strips what people type around a code: spaces, dashes,
// capitals.
func normaliseCode(code string) string {
	if len(code) > 64 || !utf8.ValidString(code) {
		return "bad"
	}
	return strings.ToLower(strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(strings.TrimSpace(code)))
}

var recoveryEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newRecoveryCodes returns RecoveryCodeCount fresh codes ("abcde-fghij",
// 50 bits each) and their digests.
func newRecoveryCodes() ([]string, [][]byte) {
	codes := make([]string, RecoveryCodeCount)
	digests := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		b := make([]byte, 7)
		_, _ = rand.Read(b) // crypto/rand.Read never fails
		c := recoveryEncoding.EncodeToString(b)[:10]
		codes[i] = c[:5] + "-" + c[5:]
		digests[i] = recoveryDigest(c)
	}
	return codes, digests
}

func recoveryDigest(normalised string) []byte {
	d := sha256.Sum256([]byte("latchkey recovery code\x00" + normalised))
	return d[:]
}

func (s *Service) ensureRecoveryCodes(ctx context.Context, userID int64) ([]string, error) {
	n, err := s.store.RecoveryCodesLeft(ctx, userID)
	if err != nil || n > 0 {
		return nil, err
	}
	codes, digests := newRecoveryCodes()
	return codes, s.store.ReplaceRecoveryCodes(ctx, userID, digests)
}

// RegenerateRecoveryCodes replaces the user's recovery codes with new ones,
// returned once.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, actor *core.Actor) ([]string, error) {
	has, err := s.store.HasSecondFactor(ctx, actor.UserID)
	if err != nil {
		return nil, err
	}
	if !has {
		return nil, &core.Error{Code: core.EConflict, Message: "Add an authenticator app or a passkey first: recovery codes stand in for one."}
	}
	codes, digests := newRecoveryCodes()
	if err := s.store.ReplaceRecoveryCodes(ctx, actor.UserID, digests); err != nil {
		return nil, err
	}
	return codes, s.auditUser(ctx, actor, "user.recovery_codes_generated", nil)
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	return s.store.RecoveryCodesLeft(ctx, userID)
}

// HasSecondFactor reports whether the user has an authenticator or passkey.
func (s *Service) HasSecondFactor(ctx context.Context, userID int64) (bool, error) {
	return s.store.HasSecondFactor(ctx, userID)
}

// checkCode accepts a code of the authenticator app (six digits) or an
// unused recovery code, and names which it was.
func (s *Service) checkCode(ctx context.Context, userID int64, code string) (string, error) {
	code = normaliseCode(code)
	if code == "" {
		return "", errNoCode
	}
	if len(code) == 6 && strings.Trim(code, "0123456789") == "" {
		return "totp", s.checkTOTP(ctx, userID, code, false)
	}
	if len(code) != 10 {
		return "recovery_code", errBadCode
	}
	if err := s.store.UseRecoveryCode(ctx, userID, recoveryDigest(code), s.now()); core.IsCode(err, core.ENotFound) {
		return "recovery_code", errBadCode
	} else if err != nil {
		return "", err
	}
	return "recovery_code", nil
}

// FactorSignIn is the second step of a sign-in: the user and organization
// the password step named, and how the browser proved the factor.
type FactorSignIn struct {
	UserID    int64
	OrgID     int64
	Code      string // an authenticator code or a recovery code
	PasskeyID int64  // or a passkey the dashboard verified
	Addr      netip.Addr
	UserAgent string
}

// CompleteSignIn checks the second factor and starts the session. A wrong
// code is audited, as the password step already named the user.
func (s *Service) CompleteSignIn(ctx context.Context, in FactorSignIn) (string, error) {
	u, err := s.store.User(ctx, in.UserID)
	if err != nil {
		return "", err
	}
	if u.Disabled {
		return "", &core.Error{Code: core.EForbidden, Reason: core.ReasonUserDisabled, Message: "This account is disabled."}
	}
	m, err := s.store.Membership(ctx, in.OrgID, u.ID)
	if core.IsCode(err, core.ENotFound) {
		return "", &core.Error{Code: core.EForbidden, Reason: core.ReasonNoOrganization,
			Message: "Your account is not a member of this organization any more."}
	} else if err != nil {
		return "", err
	}
	actor := &core.Actor{Type: core.ActorUser, UserID: u.ID, OrgID: in.OrgID, Role: m.Role, Label: u.Email,
		Addr: in.Addr, UserAgent: in.UserAgent}
	method := "passkey"
	if in.PasskeyID == 0 {
		method, err = s.checkCode(ctx, u.ID, in.Code)
		if core.IsCode(err, core.EInvalid) {
			if aerr := s.auditUser(ctx, actor, "user.second_factor_failed", map[string]any{"factor": method}); aerr != nil {
				return "", aerr
			}
		}
		if err != nil {
			return "", err
		}
	}
	return s.startSessionWith(ctx, u, in.OrgID, m.Role, in.Addr, in.UserAgent, map[string]any{"factor": method})
}

// PasskeySignIn starts a session for the user of a passkey the dashboard
// verified without a password (a discoverable credential): the passkey is
// both factors, so the user lands in their first organization.
func (s *Service) PasskeySignIn(ctx context.Context, userID int64, addr netip.Addr, userAgent string) (string, error) {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return "", err
	}
	first, err := s.landingOrganization(ctx, u)
	if err != nil {
		return "", err
	}
	return s.startSessionWith(ctx, u, first.OrgID, first.Role, addr, userAgent, map[string]any{"factor": "passkey", "passwordless": true})
}

// Reauthenticate renews the session's verification with the password or
// a code (authenticator or recovery), before a sensitive action.
func (s *Service) Reauthenticate(ctx context.Context, info *SessionInfo, actor *core.Actor, password, code string) error {
	method := "password"
	var err error
	switch {
	case password != "":
		u, uerr := s.store.User(ctx, info.User.ID)
		if uerr != nil {
			return uerr
		}
		if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
			err = core.Invalid("password", "This password is not right.")
		}
	case code != "":
		method, err = s.checkCode(ctx, info.User.ID, code)
	default:
		return core.Invalid("password", "Enter your password or a code.")
	}
	if core.IsCode(err, core.EInvalid) {
		if aerr := s.auditUser(ctx, actor, "user.reauthenticate_failed", map[string]any{"factor": method}); aerr != nil {
			return aerr
		}
	}
	if err != nil {
		return err
	}
	return s.markVerified(ctx, info, actor, method)
}

// PasskeyReauthenticated renews the session's verification after the
// dashboard verified one of the user's passkeys.
func (s *Service) PasskeyReauthenticated(ctx context.Context, info *SessionInfo, actor *core.Actor) error {
	return s.markVerified(ctx, info, actor, "passkey")
}

func (s *Service) markVerified(ctx context.Context, info *SessionInfo, actor *core.Actor, method string) error {
	now := s.now()
	if err := s.store.SetSessionVerified(ctx, info.Session.Digest, now); err != nil {
		return err
	}
	info.Session.VerifiedAt = now
	return s.auditUser(ctx, actor, "user.reauthenticate", map[string]any{"factor": method})
}

// PasskeyOwner returns a user and their passkeys, for a WebAuthn ceremony.
func (s *Service) PasskeyOwner(ctx context.Context, userID int64) (*core.User, []core.Passkey, error) {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	u.PasswordHash = ""
	pks, err := s.store.Passkeys(ctx, userID)
	return u, pks, err
}

// PasskeyByCredentialID finds the passkey a browser presented.
func (s *Service) PasskeyByCredentialID(ctx context.Context, id []byte) (*core.Passkey, error) {
	return s.store.PasskeyByCredentialID(ctx, id)
}

// PasskeyUsed stores a passkey's credential after a verified use.
func (s *Service) PasskeyUsed(ctx context.Context, id int64, credential []byte) error {
	return s.store.UpdatePasskeyUse(ctx, id, credential, s.now())
}

func checkPasskeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", core.Invalid("name", "The name field is required.")
	case !core.ValidText(name):
		return "", core.Invalid("name", "The name field must be text without control characters.")
	case utf8.RuneCountInString(name) > maxPasskeyName:
		return "", core.Invalid("name", "The name field must be at most 100 characters.")
	}
	return name, nil
}

// AddPasskey stores a passkey the dashboard registered. It returns the
// new recovery codes when the user had none, else nil.
func (s *Service) AddPasskey(ctx context.Context, actor *core.Actor, pk *core.Passkey) ([]string, error) {
	name, err := checkPasskeyName(pk.Name)
	if err != nil {
		return nil, err
	}
	pk.Name, pk.UserID = name, actor.UserID
	if err := s.store.CreatePasskey(ctx, pk); err != nil {
		return nil, err
	}
	codes, err := s.ensureRecoveryCodes(ctx, actor.UserID)
	if err != nil {
		return nil, err
	}
	return codes, s.auditUser(ctx, actor, "user.factor_enrolled", map[string]any{"factor": "passkey", "name": name})
}

// Passkeys lists the user's passkeys.
func (s *Service) Passkeys(ctx context.Context, userID int64) ([]core.Passkey, error) {
	return s.store.Passkeys(ctx, userID)
}

// RenamePasskey renames one of the actor's passkeys.
func (s *Service) RenamePasskey(ctx context.Context, actor *core.Actor, id int64, name string) error {
	name, err := checkPasskeyName(name)
	if err != nil {
		return err
	}
	return s.store.RenamePasskey(ctx, actor.UserID, id, name)
}

// RemovePasskey removes one of the actor's passkeys.
func (s *Service) RemovePasskey(ctx context.Context, actor *core.Actor, id int64) error {
	if err := s.store.DeletePasskey(ctx, actor.UserID, id); err != nil {
		return err
	}
	if err := s.dropRecoveryCodesWithoutFactor(ctx, actor.UserID); err != nil {
		return err
	}
	return s.auditUser(ctx, actor, "user.factor_removed", map[string]any{"factor": "passkey", "passkey_id": id})
}

// RemoveUserFactors removes every factor of a user who lost their device
// ("latchkey admin remove-factors"): the user signs in with the password
// alone and enrols again. It is audited in each of the user's
// organizations, as by label.
func (s *Service) RemoveUserFactors(ctx context.Context, email, label string) (*core.User, error) {
	u, err := s.store.UserByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if core.IsCode(err, core.ENotFound) {
		return nil, core.Invalid("email", "No user has this email.")
	}
	if err != nil {
		return nil, err
	}
	orgs, err := s.store.ListUserOrganizations(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	err = s.store.InTx(ctx, func(st core.Store) error {
		if err := st.DeleteUserFactors(ctx, u.ID); err != nil {
			return err
		}
		for _, o := range orgs {
			if err := audit(ctx, st, core.SystemActor(o.OrgID, label).Audit("user.factors_removed", "user", u.ID, 0, nil)); err != nil {
				return err
			}
		}
		return nil
	})
	return u, err
}

// RequiresSecondFactor reports the organization's sign-in policy.
func (s *Service) RequiresSecondFactor(ctx context.Context, orgID int64) (bool, error) {
	return s.store.RequiresSecondFactor(ctx, orgID)
}

// SetRequireSecondFactor sets whether every member of the actor's
// organization needs a second factor. Owners only.
func (s *Service) SetRequireSecondFactor(ctx context.Context, actor *core.Actor, require bool) error {
	if err := requirePolicyOwner(actor); err != nil {
		return err
	}
	if err := s.store.SetRequireSecondFactor(ctx, actor.OrgID, require); err != nil {
		return err
	}
	return audit(ctx, s.store, actor.Audit("organization.second_factor_policy", "organization", actor.OrgID, 0,
		map[string]any{"require_second_factor": require}))
}
