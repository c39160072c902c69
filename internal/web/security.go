package web

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image/png"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/internal/core"
)

// The sign-in security page (/settings/security): the authenticator app,
// recovery codes, passkeys and, for owners, the organization's rule that
// every member has a second factor.

const recoveryCodesPath = "/settings/security/recovery-codes"

// securityData is the sign-in security page.
type securityData struct {
	TOTP          bool
	CodesLeft     int
	Passkeys      []core.Passkey
	RequireFactor bool
	MustEnrol     bool
}

func joinCodes(codes []string) string { return strings.Join(codes, " ") }

func (d *dashboard) security(w http.ResponseWriter, r *http.Request) error {
	ctx, info := r.Context(), sessionOf(r)
	var sd securityData
	var err error
	if sd.TOTP, err = d.svc.TOTPConfirmed(ctx, info.User.ID); err != nil {
		return err
	}
	if sd.CodesLeft, err = d.svc.RecoveryCodesLeft(ctx, info.User.ID); err != nil {
		return err
	}
	if sd.Passkeys, err = d.svc.Passkeys(ctx, info.User.ID); err != nil {
		return err
	}
	if sd.RequireFactor, err = d.svc.RequiresSecondFactor(ctx, info.Session.OrgID); err != nil {
		return err
	}
	sd.MustEnrol = info.MustEnrol
	return d.render(w, r, http.StatusOK, "security", &view{Title: "Sign-in security", Nav: "settings", Form: newForm(), Data: sd})
}

// totpData is the authenticator enrolment page.
type totpData struct {
	Secret string
	QR     template.URL // a data: URL of the QR code (PNG), made here: trusted
	URL    string
}

func (d *dashboard) renderTOTP(w http.ResponseWriter, r *http.Request, status int, f *form) error {
	key, err := d.svc.TOTPEnrolment(r.Context(), &sessionOf(r).User)
	if e, ok := publicError(err, r); ok && e.Code == core.EConflict {
		d.setFlash(w, r, "error", e.Message)
		return redirect(w, r, "/settings/security")
	}
	if err != nil {
		return err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	td := totpData{Secret: key.Secret(), URL: key.URL(),
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))}
	return d.render(w, r, status, "totp", &view{Title: "Set up an authenticator app", Nav: "settings", Form: f, Data: td})
}

// totpPage shows the secret to enrol (a QR code and the text).
func (d *dashboard) totpPage(w http.ResponseWriter, r *http.Request) error {
	return d.renderTOTP(w, r, http.StatusOK, newForm())
}

// totpConfirm makes the authenticator a factor with its first code.
func (d *dashboard) totpConfirm(w http.ResponseWriter, r *http.Request) error {
	f := formOf(r)
	info := sessionOf(r)
	err := d.throttle(w, r, info.User.Email)
	var codes []string
	if err == nil {
		codes, err = d.svc.ConfirmTOTP(r.Context(), actorOf(r), f.Get("code"))
	}
	if err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		f.set("code", "")
		return d.renderTOTP(w, r, status, f)
	}
	d.setFlash(w, r, "ok", "Authenticator app added.")
	return d.showCodes(w, r, codes)
}

// showCodes hands new recovery codes to their page, shown once, or goes
// back to the security page when there are none.
func (d *dashboard) showCodes(w http.ResponseWriter, r *http.Request, codes []string) error {
	if codes == nil {
		return redirect(w, r, "/settings/security")
	}
	return d.setReveal(w, r, reveal{Page: recoveryCodesPath, Secret: joinCodes(codes)})
}

func (d *dashboard) totpRemove(w http.ResponseWriter, r *http.Request) error {
	if err := d.svc.RemoveTOTP(r.Context(), actorOf(r)); err != nil {
		return err
	}
	d.setFlash(w, r, "ok", "Authenticator app removed.")
	return redirect(w, r, "/settings/security")
}

func (d *dashboard) recoveryCodesRegenerate(w http.ResponseWriter, r *http.Request) error {
	codes, err := d.svc.RegenerateRecoveryCodes(r.Context(), actorOf(r))
	if e, ok := publicError(err, r); ok && e.Code == core.EConflict {
		d.setFlash(w, r, "error", e.Message)
		return redirect(w, r, "/settings/security")
	}
	if err != nil {
		return err
	}
	return d.showCodes(w, r, codes)
}

// recoveryCodesPage shows new recovery codes once.
func (d *dashboard) recoveryCodesPage(w http.ResponseWriter, r *http.Request) error {
	rv, ok := d.takeReveal(w, r, recoveryCodesPath)
	if !ok {
		d.setFlash(w, r, "error", "Recovery codes are shown once. Generate new ones if you did not save them.")
		return redirect(w, r, "/settings/security")
	}
	return d.render(w, r, http.StatusOK, "recovery_codes", &view{Title: "Recovery codes", Nav: "settings",
		Data: strings.Fields(rv.Secret)})
}

func (d *dashboard) passkeyRename(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := d.svc.RenamePasskey(r.Context(), actorOf(r), id, r.PostFormValue("name")); err != nil {
		e, ok := publicError(err, r)
		if !ok {
			return err
		}
		d.setFlash(w, r, "error", e.Message)
		return redirect(w, r, "/settings/security")
	}
	d.setFlash(w, r, "ok", "Passkey renamed.")
	return redirect(w, r, "/settings/security")
}

func (d *dashboard) passkeyRemove(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := d.svc.RemovePasskey(r.Context(), actorOf(r), id); err != nil {
		return err
	}
	d.setFlash(w, r, "ok", "Passkey removed.")
	return redirect(w, r, "/settings/security")
}

// securityPolicy sets whether every member needs a second factor.
func (d *dashboard) securityPolicy(w http.ResponseWriter, r *http.Request) error {
	require := r.PostFormValue("require_second_factor") == "1"
	if err := d.svc.SetRequireSecondFactor(r.Context(), actorOf(r), require); err != nil {
		return err
	}
	msg := "Members no longer need a second factor."
	if require {
		msg = "Every member now needs a second factor."
	}
	d.setFlash(w, r, "ok", msg)
	return redirect(w, r, "/settings/security")
}

// enrolPaths are what a member who must enrol a second factor may reach.
func enrolPath(p string) bool {
	return p == "/logout" || p == "/settings/security" || strings.HasPrefix(p, "/settings/security/")
}
