package service

import (
	"context"
	"crypto/sha256"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
)

// Dashboard session lifetimes.
const (
	// SessionIdle ends a session that has not been used for this long.
	SessionIdle = 24 * time.Hour
	// SessionMaxAge ends every session this long after sign-in, however
	// busy: a stolen cookie does not live forever.
	SessionMaxAge = 7 * 24 * time.Hour
	// sessionTouch is how stale last_seen_at may get before a request
	// records activity; writing it on every page view would turn every read
	// into a database write.
	sessionTouch = time.Minute
	// sessionTokenLen is the length of the base62 session token (about 190
	// bits).
	sessionTokenLen = 32
)

// ErrNoSession is what every unknown, expired or ended session answers.
var ErrNoSession = &core.Error{Code: core.EUnauthorized, Reason: core.ReasonNoSession, Message: "Please sign in."}

// errBadCredentials is the one answer for an unknown email and a wrong
// password, so that the sign-in form does not tell which emails exist.
var errBadCredentials = &core.Error{Code: core.EUnauthorized, Reason: core.ReasonInvalidCredentials,
	Message: "These credentials do not match our records."}

// SignInInput is what signing in needs.
type SignInInput struct {
	Email     string
	Password  string
	Addr      netip.Addr
	UserAgent string
}

// SessionInfo is a signed-in user as one request sees them: the session,
// the user and their role in the session's organization, read fresh.
type SessionInfo struct {
	Session core.Session
	User    core.User // PasswordHash is cleared
	Role    core.Role
	OrgName string
	// Orgs lists every organization the user belongs to, for the
	// organization switcher.
	Orgs []core.MemberOrg
	// MustEnrol is set when the organization requires a second factor
	// and the user has none: the dashboard sends them to enrol first.
	MustEnrol bool
}

// Actor returns the actor the session's user acts as for one request: the
// scopes of their current role in the selected organization.
func (si *SessionInfo) Actor(addr netip.Addr, userAgent string) *core.Actor {
	return &core.Actor{Type: core.ActorUser, UserID: si.User.ID, OrgID: si.Session.OrgID, Role: si.Role,
		Scopes: si.Role.Scopes(), Label: si.User.Email, Addr: addr, UserAgent: userAgent}
}

// sessionDigest is what is stored for a session token: a database leak
// does not hand out live sessions.
func sessionDigest(token string) []byte {
	d := sha256.Sum256([]byte(token))
	return d[:]
}

// NeedsFirstRun reports whether the instance has no users yet, so the
// dashboard offers its first-run page.
func (s *Service) NeedsFirstRun(ctx context.Context) (bool, error) {
	n, err := s.store.CountUsers(ctx)
	return n == 0, err
}

// FirstRun creates the first owner (and organization) of an instance
// without users and signs them in. Once a user exists it refuses.
func (s *Service) FirstRun(ctx context.Context, in CreateUserInput, addr netip.Addr, userAgent string) (string, error) {
	if first, err := s.NeedsFirstRun(ctx); err != nil {
		return "", err
	} else if !first {
		return "", &core.Error{Code: core.EConflict, Reason: core.ReasonAlreadySetUp,
			Message: "This instance already has users: sign in instead."}
	}
	in.Role = core.RoleOwner
	u, org, err := s.CreateUser(ctx, nil, in)
	if err != nil {
		return "", err
	}
	return s.startSession(ctx, u, org.ID, core.RoleOwner, addr, userAgent)
}

// SignIn checks an email and password and starts a session in the user's
// first organization. It returns the session token for the cookie.
func (s *Service) SignIn(ctx context.Context, in SignInInput) (string, error) {
	p := core.Problems{}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if email == "" {
		p.Add("email", "The email field is required.")
	}
	if in.Password == "" {
		p.Add("password", "The password field is required.")
	}
	if err := p.Err(); err != nil {
		return "", err
	}
	var u *core.User
	if len(email) <= 254 {
		var err error
		u, err = s.store.UserByEmail(ctx, email)
		if core.IsCode(err, core.ENotFound) {
			u = nil
		} else if err != nil {
			return "", err
		}
	}
	hash := s.dummyHash
	if u != nil {
		hash = []byte(u.PasswordHash)
	}
	// Always run bcrypt: an unknown email then takes as long as a wrong
	// password, and the timing does not reveal which emails exist.
	match := bcrypt.CompareHashAndPassword(hash, []byte(in.Password)) == nil
	if u == nil || !match {
		return "", errBadCredentials
	}
	// Only someone who knows the password learns the account's standing.
	first, err := s.landingOrganization(ctx, u)
	if err != nil {
		return "", err
	}
	// A user with a second factor is not signed in yet: the dashboard
	// asks for it (CompleteSignIn).
	if has, err := s.store.HasSecondFactor(ctx, u.ID); err != nil {
		return "", err
	} else if has {
		return "", &SecondFactorRequired{UserID: u.ID, OrgID: first.OrgID}
	}
	return s.startSession(ctx, u, first.OrgID, first.Role, in.Addr, in.UserAgent)
}

// landingOrganization is where a sign-in lands: the user's first
// organization, once the account is known not to be disabled and to belong
// to one.
func (s *Service) landingOrganization(ctx context.Context, u *core.User) (core.MemberOrg, error) {
	if u.Disabled {
		return core.MemberOrg{}, &core.Error{Code: core.EForbidden, Reason: core.ReasonUserDisabled, Message: "This account is disabled."}
	}
	orgs, err := s.store.ListUserOrganizations(ctx, u.ID)
	if err != nil {
		return core.MemberOrg{}, err
	}
	if len(orgs) == 0 {
		return core.MemberOrg{}, &core.Error{Code: core.EForbidden, Reason: core.ReasonNoOrganization,
			Message: "Your account is not a member of any organization."}
	}
	return orgs[0], nil
}

// newSession returns a session for the user in orgID and its token.
func (s *Service) newSession(userID, orgID int64, addr netip.Addr, userAgent string) (*core.Session, string) {
	now := s.now()
	token := keys.RandomToken(sessionTokenLen)
	se := &core.Session{Digest: sessionDigest(token), UserID: userID, OrgID: orgID,
		CSRFToken: keys.RandomToken(sessionTokenLen), UserAgent: truncate(userAgent, 512),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(SessionIdle)}
	if addr.IsValid() {
		se.IP = addr.String()
	}
	return se, token
}

// startSession stores a new session and audits the sign-in.
func (s *Service) startSession(ctx context.Context, u *core.User, orgID int64, role core.Role, addr netip.Addr, userAgent string) (string, error) {
	return s.startSessionWith(ctx, u, orgID, role, addr, userAgent, nil)
}

// startSessionWith is startSession with the sign-in's details audited
// (which second factor was used).
func (s *Service) startSessionWith(ctx context.Context, u *core.User, orgID int64, role core.Role, addr netip.Addr, userAgent string,
	details map[string]any) (string, error) {
	se, token := s.newSession(u.ID, orgID, addr, userAgent)
	err := s.write(ctx, func(st core.Store, _ func(core.Change)) error {
		if err := st.CreateSession(ctx, se); err != nil {
			return err
		}
		actor := &core.Actor{Type: core.ActorUser, UserID: u.ID, OrgID: orgID, Role: role, Label: u.Email,
			Addr: addr, UserAgent: userAgent}
		return audit(ctx, st, actor.Audit("user.sign_in", "user", u.ID, 0, details))
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// truncate makes a header value storable (a User-Agent): at most n bytes,
// cut on a character boundary, invalid bytes as U+FFFD.
func truncate(s string, n int) string { return core.CleanText(s, n) }

// Session returns the signed-in user behind a session token, with their
// role read fresh: a member removed, disabled or re-roled is treated
// accordingly on the very next request. Anything else is ErrNoSession.
func (s *Service) Session(ctx context.Context, token string) (*SessionInfo, error) {
	if token == "" || len(token) > 128 {
		return nil, ErrNoSession
	}
	now := s.now()
	digest := sessionDigest(token)
	se, err := s.store.SessionByDigest(ctx, digest, now)
	if core.IsCode(err, core.ENotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	u, err := s.store.User(ctx, se.UserID)
	if err != nil && !core.IsCode(err, core.ENotFound) {
		return nil, err
	}
	var m *core.Membership
	if err == nil && !u.Disabled {
		m, err = s.store.Membership(ctx, se.OrgID, se.UserID)
		if err != nil && !core.IsCode(err, core.ENotFound) {
			return nil, err
		}
	}
	if m == nil {
		// RemoveMember and SetUserDisabled end sessions themselves; this
		// covers a session that raced with them.
		if err := s.store.DeleteSession(ctx, digest); err != nil {
			return nil, err
		}
		return nil, ErrNoSession
	}
	orgs, err := s.store.ListUserOrganizations(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if now.Sub(se.LastSeenAt) >= sessionTouch {
		expires := earliest(now.Add(SessionIdle), se.CreatedAt.Add(SessionMaxAge))
		if err := s.store.UpdateSession(ctx, digest, se.OrgID, now, expires); err != nil && !core.IsCode(err, core.ENotFound) {
			return nil, err
		}
		se.LastSeenAt, se.ExpiresAt = now, expires
	}
	info := &SessionInfo{Session: *se, User: *u, Role: m.Role, Orgs: orgs}
	if req, err := s.store.RequiresSecondFactor(ctx, se.OrgID); err != nil && !core.IsCode(err, core.ENotFound) {
		return nil, err
	} else if req {
		has, err := s.store.HasSecondFactor(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		info.MustEnrol = !has
	}
	info.User.PasswordHash = ""
	for _, o := range orgs {
		if o.OrgID == se.OrgID {
			info.OrgName = o.OrgName
		}
	}
	return info, nil
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// SwitchOrganization moves a session to another organization of its user.
func (s *Service) SwitchOrganization(ctx context.Context, info *SessionInfo, orgID int64) error {
	if _, err := s.store.Membership(ctx, orgID, info.User.ID); core.IsCode(err, core.ENotFound) {
		return core.Invalid("org", "You are not a member of that organization.")
	} else if err != nil {
		return err
	}
	se := &info.Session
	if err := s.store.UpdateSession(ctx, se.Digest, orgID, s.now(), se.ExpiresAt); err != nil {
		return err
	}
	se.OrgID = orgID
	return nil
}

// SignOut ends a session.
func (s *Service) SignOut(ctx context.Context, info *SessionInfo, addr netip.Addr, userAgent string) error {
	return s.write(ctx, func(st core.Store, _ func(core.Change)) error {
		if err := st.DeleteSession(ctx, info.Session.Digest); err != nil {
			return err
		}
		actor := info.Actor(addr, userAgent)
		return audit(ctx, st, actor.Audit("user.sign_out", "user", info.User.ID, 0, nil))
	})
}
