package web

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// Passkeys (WebAuthn, github.com/go-webauthn/webauthn). Each ceremony is
// two posts from static/factors.js: ".../options" answers the options for
// navigator.credentials (and seals the challenge into webauthnCookie), the
// finishing post sends the browser's credential as JSON in the form field
// "credential". Both are ordinary form posts, with the page's CSRF token.
const (
	webauthnCookie = "latchkey_webauthn"
	webauthnMaxAge = 5 * time.Minute
)

// ceremony is what the finishing post needs of its options post.
type ceremony struct {
	Kind    string               `json:"k"` // "register", "login", "factor", "reauth"
	Bind    string               `json:"b"` // the session's digest (hex) or the pending sign-in's user
	Session webauthn.SessionData `json:"s"`
}

// relyingParty returns the WebAuthn relying party for this request: the
// configured public URL's host, or the host the browser asked for.
func (d *dashboard) relyingParty(r *http.Request) (*webauthn.WebAuthn, error) {
	origin := d.publicURL
	if origin == "" {
		scheme := "http"
		if d.https(r) {
			scheme = "https"
		}
		origin = scheme + "://" + r.Host
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return nil, core.Errorf(core.EBadRequest, "Passkeys need the dashboard's address: set --public-url.")
	}
	host := u.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return webauthn.New(&webauthn.Config{RPID: host, RPDisplayName: "Latchkey", RPOrigins: []string{u.Scheme + "://" + u.Host}})
}

// passkeyUser is a user as WebAuthn sees them.
type passkeyUser struct {
	u     *core.User
	creds []webauthn.Credential
	ids   []int64 // the passkeys' IDs, beside creds
}

// userHandle is the opaque WebAuthn user ID: the user's ID, 8 bytes.
func userHandle(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

func (p *passkeyUser) WebAuthnID() []byte                         { return userHandle(p.u.ID) }
func (p *passkeyUser) WebAuthnName() string                       { return p.u.Email }
func (p *passkeyUser) WebAuthnDisplayName() string                { return p.u.Email }
func (p *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return p.creds }

func (d *dashboard) passkeyUser(r *http.Request, userID int64) (*passkeyUser, error) {
	u, pks, err := d.svc.PasskeyOwner(r.Context(), userID)
	if err != nil {
		return nil, err
	}
	pu := &passkeyUser{u: u}
	for _, pk := range pks {
		var c webauthn.Credential
		if err := json.Unmarshal(pk.Credential, &c); err != nil {
			return nil, err
		}
		pu.creds, pu.ids = append(pu.creds, c), append(pu.ids, pk.ID)
	}
	return pu, nil
}

// passkeyOf returns the stored passkey of a verified credential.
func (p *passkeyUser) passkeyOf(c *webauthn.Credential) int64 {
	for i, have := range p.creds {
		if bytes.Equal(have.ID, c.ID) {
			return p.ids[i]
		}
	}
	return 0
}

// writeJSON answers a ceremony post.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// ceremonyError answers a failed ceremony with a message for the page.
func ceremonyError(w http.ResponseWriter, r *http.Request, err error) error {
	e, ok := publicError(err, r)
	if !ok {
		return err
	}
	return writeJSON(w, core.HTTPStatus(e.Code), map[string]string{"error": e.Message})
}

var errPasskeyFailed = core.Invalid("credential", "The passkey could not be verified. Try again, or use another way to sign in.")

// beginCeremony seals the ceremony and answers its options.
func (d *dashboard) beginCeremony(w http.ResponseWriter, r *http.Request, c ceremony, options any) error {
	if err := d.setSealed(w, r, webauthnCookie, c, webauthnMaxAge); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, options)
}

// takeCeremony opens the sealed ceremony of kind bound to bind, and
// deletes it: a challenge answers once.
func (d *dashboard) takeCeremony(w http.ResponseWriter, r *http.Request, kind, bind string) (*webauthn.SessionData, error) {
	var c ceremony
	err := d.openSealed(r, webauthnCookie, &c)
	d.setCookie(w, r, webauthnCookie, "", -1)
	if err != nil || c.Kind != kind || c.Bind != bind {
		return nil, core.Invalid("credential", "The passkey prompt has expired: try again.")
	}
	return &c.Session, nil
}

func sessionBind(r *http.Request) string { return hex.EncodeToString(sessionOf(r).Session.Digest) }

// passkeyRegisterOptions starts adding a passkey to the signed-in user.
// The credential is discoverable (a resident key), so that it also signs
// in without a password.
func (d *dashboard) passkeyRegisterOptions(w http.ResponseWriter, r *http.Request) error {
	rp, err := d.relyingParty(r)
	if err != nil {
		return ceremonyError(w, r, err)
	}
	pu, err := d.passkeyUser(r, sessionOf(r).User.ID)
	if err != nil {
		return err
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range pu.creds {
		exclude = append(exclude, c.Descriptor())
	}
	opts, sd, err := rp.BeginRegistration(pu, webauthn.WithExclusions(exclude),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, UserVerification: protocol.VerificationPreferred}))
	if err != nil {
		return err
	}
	return d.beginCeremony(w, r, ceremony{Kind: "register", Bind: sessionBind(r), Session: *sd}, opts)
}

// passkeyRegister finishes adding a passkey.
func (d *dashboard) passkeyRegister(w http.ResponseWriter, r *http.Request) error {
	sd, err := d.takeCeremony(w, r, "register", sessionBind(r))
	if err != nil {
		return ceremonyError(w, r, err)
	}
	rp, err := d.relyingParty(r)
	if err != nil {
		return ceremonyError(w, r, err)
	}
	pu, err := d.passkeyUser(r, sessionOf(r).User.ID)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(r.PostFormValue("credential")))
	if err != nil {
		return ceremonyError(w, r, errPasskeyFailed)
	}
	cred, err := rp.CreateCredential(pu, *sd, parsed)
	if err != nil {
		d.log.InfoContext(r.Context(), "dashboard: passkey registration refused", "err", err)
		return ceremonyError(w, r, errPasskeyFailed)
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	name := r.PostFormValue("name")
	if name == "" {
		name = "Passkey"
	}
	codes, err := d.svc.AddPasskey(r.Context(), actorOf(r), &core.Passkey{CredentialID: cred.ID, Name: name, Credential: raw})
	if err != nil {
		return ceremonyError(w, r, err)
	}
	next := "/settings/security"
	if codes != nil {
		res, err := d.sealReveal(r, reveal{Page: recoveryCodesPath, Secret: joinCodes(codes)})
		if err != nil {
			return err
		}
		d.setPathCookie(w, r, revealCookie, res.page, res.sealed, revealMaxAge)
		next = recoveryCodesPath
	}
	d.setFlash(w, r, "ok", "Passkey added.")
	return writeJSON(w, http.StatusOK, map[string]string{"redirect": next})
}

// loginOptions answers the options of a passkey assertion: for one user
// (the second step after a password, a re-authentication), or for any
// discoverable credential (userID 0: sign-in without a password).
func (d *dashboard) loginOptions(w http.ResponseWriter, r *http.Request, kind, bind string, userID int64) error {
	rp, err := d.relyingParty(r)
	if err != nil {
		return ceremonyError(w, r, err)
	}
	var opts *protocol.CredentialAssertion
	var sd *webauthn.SessionData
	if userID == 0 {
		opts, sd, err = rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	} else {
		pu, perr := d.passkeyUser(r, userID)
		if perr != nil {
			return perr
		}
		if len(pu.creds) == 0 {
			return ceremonyError(w, r, core.Invalid("credential", "You have no passkey: use a code instead."))
		}
		opts, sd, err = rp.BeginLogin(pu, webauthn.WithUserVerification(protocol.VerificationPreferred))
	}
	if err != nil {
		return err
	}
	return d.beginCeremony(w, r, ceremony{Kind: kind, Bind: bind, Session: *sd}, opts)
}

// verifyAssertion checks the posted assertion of ceremony kind and returns
// the user and passkey it proves. userID 0 accepts any user's
// discoverable credential.
func (d *dashboard) verifyAssertion(w http.ResponseWriter, r *http.Request, kind, bind string, userID int64) (int64, int64, error) {
	sd, err := d.takeCeremony(w, r, kind, bind)
	if err != nil {
		return 0, 0, err
	}
	rp, err := d.relyingParty(r)
	if err != nil {
		return 0, 0, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(r.PostFormValue("credential")))
	if err != nil {
		return 0, 0, errPasskeyFailed
	}
	var pu *passkeyUser
	var cred *webauthn.Credential
	if userID == 0 {
		cred, err = rp.ValidateDiscoverableLogin(func(rawID, handle []byte) (webauthn.User, error) {
			pk, err := d.svc.PasskeyByCredentialID(r.Context(), rawID)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(handle, userHandle(pk.UserID)) {
				return nil, errPasskeyFailed
			}
			pu, err = d.passkeyUser(r, pk.UserID)
			return pu, err
		}, *sd, parsed)
	} else {
		if pu, err = d.passkeyUser(r, userID); err != nil {
			return 0, 0, err
		}
		cred, err = rp.ValidateLogin(pu, *sd, parsed)
	}
	if err != nil || pu == nil {
		d.log.InfoContext(r.Context(), "dashboard: passkey assertion refused", "err", err)
		return 0, 0, errPasskeyFailed
	}
	id := pu.passkeyOf(cred)
	if id == 0 {
		return 0, 0, errPasskeyFailed
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return 0, 0, err
	}
	if err := d.svc.PasskeyUsed(r.Context(), id, raw); err != nil {
		return 0, 0, err
	}
	return pu.u.ID, id, nil
}

// passkeyLoginOptions starts a sign-in without a password.
func (d *dashboard) passkeyLoginOptions(w http.ResponseWriter, r *http.Request) error {
	if err := d.checkFormToken(w, r); err != nil {
		return ceremonyError(w, r, err)
	}
	if err := d.throttle(w, r, ""); err != nil {
		return ceremonyError(w, r, err)
	}
	return d.loginOptions(w, r, "login", "", 0)
}

// passkeyLogin finishes a sign-in without a password.
func (d *dashboard) passkeyLogin(w http.ResponseWriter, r *http.Request) error {
	if err := d.checkFormToken(w, r); err != nil {
		return ceremonyError(w, r, err)
	}
	if err := d.throttle(w, r, ""); err != nil {
		return ceremonyError(w, r, err)
	}
	userID, _, err := d.verifyAssertion(w, r, "login", "", 0)
	if err != nil {
		return ceremonyError(w, r, err)
	}
	token, err := d.svc.PasskeySignIn(r.Context(), userID, core.ClientIP(r.Context()), r.UserAgent())
	if err != nil {
		return ceremonyError(w, r, err)
	}
	d.startSession(w, r, token)
	return writeJSON(w, http.StatusOK, map[string]string{"redirect": safeNext(r.PostFormValue("next"))})
}

// factorPasskeyOptions starts the second step of a sign-in with a passkey.
func (d *dashboard) factorPasskeyOptions(w http.ResponseWriter, r *http.Request) error {
	p, err := d.pendingSignIn(w, r)
	if err != nil {
		return ceremonyError(w, r, err)
	}
	return d.loginOptions(w, r, "factor", strconv.FormatInt(p.UserID, 10), p.UserID)
}

// factorPasskey finishes the second step of a sign-in with a passkey.
func (d *dashboard) factorPasskey(w http.ResponseWriter, r *http.Request) error {
	p, err := d.pendingSignIn(w, r)
	if err != nil {
		return ceremonyError(w, r, err)
	}
	if err := d.throttle(w, r, pendingThrottleKey(p.UserID)); err != nil {
		return ceremonyError(w, r, err)
	}
	_, pkID, err := d.verifyAssertion(w, r, "factor", strconv.FormatInt(p.UserID, 10), p.UserID)
	if err != nil {
		return ceremonyError(w, r, err)
	}
	token, err := d.svc.CompleteSignIn(r.Context(), service.FactorSignIn{UserID: p.UserID, OrgID: p.OrgID, PasskeyID: pkID,
		Addr: core.ClientIP(r.Context()), UserAgent: r.UserAgent()})
	if err != nil {
		return ceremonyError(w, r, err)
	}
	d.setCookie(w, r, pendingCookie, "", -1)
	d.startSession(w, r, token)
	return writeJSON(w, http.StatusOK, map[string]string{"redirect": safeNext(p.Next)})
}

// reauthPasskeyOptions starts a re-authentication with a passkey.
func (d *dashboard) reauthPasskeyOptions(w http.ResponseWriter, r *http.Request) error {
	return d.loginOptions(w, r, "reauth", sessionBind(r), sessionOf(r).User.ID)
}

// reauthPasskey finishes a re-authentication with a passkey; the page then
// posts its form to the original action, which now goes through.
func (d *dashboard) reauthPasskey(w http.ResponseWriter, r *http.Request) error {
	info := sessionOf(r)
	if err := d.throttle(w, r, info.User.Email); err != nil {
		return ceremonyError(w, r, err)
	}
	if _, _, err := d.verifyAssertion(w, r, "reauth", sessionBind(r), info.User.ID); err != nil {
		return ceremonyError(w, r, err)
	}
	if err := d.svc.PasskeyReauthenticated(r.Context(), info, actorOf(r)); err != nil {
		return ceremonyError(w, r, err)
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}
