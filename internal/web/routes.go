// Package web serves the dashboard under /: server-rendered pages over
// embedded templates, for vendors who manage Latchkey without writing code.
// Every page and action calls the same service as the API.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/service"
)

// Deps holds what the dashboard needs.
type Deps struct {
	Logger  *slog.Logger
	Service *service.Service
	// Validator and Usage hold what this node counted but has not yet
	// written, merged into usage charts and "last used".
	Validator *service.Validator
	Usage     *keys.Usage
	// Limiter throttles sign-in attempts.
	Limiter *ratelimit.Limiter
	// SecureCookies is "auto" (Secure when the request came over HTTPS),
	// "always" or "never".
	SecureCookies string
	// PublicURL, when set, is where browsers reach the dashboard; form posts
	// from its origin are accepted even when a proxy rewrites Host.
	PublicURL string
	// Reveal seals a new key's secret on its way to the page that shows
	// it once; it must be the same on every node (a box of the instance
	// secret). Nil means a key of this process, for one node.
	Reveal Sealer
	// LicenseFiles makes offline license files (httpapi.LicenseFileIssuer);
	// nil hides the license page's download.
	LicenseFiles func(ctx context.Context) (service.LicenseFileIssuer, error)
	Now          func() time.Time
}

// Register adds the dashboard's routes to mux. This function is the map of
// the dashboard: every page and form action is listed here.
func Register(mux *http.ServeMux, deps Deps) {
	d := newDashboard(deps)
	page := func(pattern string, f handlerFunc) { mux.Handle(pattern, d.guard(d.wrap(f))) }
	user := func(pattern string, f handlerFunc) { page(pattern, d.signedIn(f)) }

	mux.Handle("GET /static/", d.guard(d.staticFiles()))
	// GET / is the organization's overview once signed in (issue 19,
	// insight.go); a project's overview and an API key's page take
	// ?range= too.
	page("GET /{$}", d.home)
	page("GET /setup", d.setupPage)
	page("POST /setup", d.setup)
	page("GET /login", d.loginPage)
	page("GET "+core.DocPath, d.errorCodes)
	page("POST /login", d.login)
	user("POST /logout", d.logout)
	user("POST /org", d.switchOrg)

	user("GET /projects", d.projectList)
	user("GET /projects/new", d.projectNew)
	user("POST /projects", d.projectCreate)
	user("GET /projects/{p}", d.projectShow)
	user("GET /projects/{p}/edit", d.projectEdit)
	user("POST /projects/{p}/edit", d.projectUpdate)
	user("POST /projects/{p}/license-defaults", d.projectDefaultsUpdate)
	user("GET /projects/{p}/delete", d.projectDeletePage)
	user("POST /projects/{p}/delete", d.fresh(d.projectDelete))

	user("GET /licenses", d.licensePicker)
	user("GET /projects/{p}/licenses", d.licenseList)
	user("GET /projects/{p}/licenses/new", d.licenseNew)
	user("POST /projects/{p}/licenses", d.licenseCreate)
	user("GET /projects/{p}/licenses/{l}", d.licenseShow)
	user("GET /projects/{p}/licenses/{l}/edit", d.licenseEdit)
	user("POST /projects/{p}/licenses/{l}/edit", d.licenseUpdate)
	user("POST /projects/{p}/licenses/{l}/suspend", d.licenseTransition(d.svc.SuspendLicense, "License suspended."))
	user("POST /projects/{p}/licenses/{l}/revoke", d.licenseTransition(d.svc.RevokeLicense, "License revoked."))
	user("POST /projects/{p}/licenses/{l}/reactivate", d.licenseTransition(d.svc.ReactivateLicense, "License reactivated."))
	user("GET /projects/{p}/licenses/{l}/delete", d.licenseDeletePage)
	user("POST /projects/{p}/licenses/{l}/delete", d.licenseDelete)
	user("POST /projects/{p}/licenses/{l}/seats/{s}/release", d.licenseSeatRelease)
	user("POST /projects/{p}/licenses/{l}/activations/{a}/delete", d.activationDelete)
	user("POST /projects/{p}/licenses/{l}/file", d.licenseFileDownload)

	user("GET /projects/{p}/domains", d.domainList)
	user("GET /projects/{p}/domains/new", d.domainNew)
	user("POST /projects/{p}/domains", d.domainCreate)
	user("GET /projects/{p}/domains/{d}/edit", d.domainEdit)
	user("POST /projects/{p}/domains/{d}/edit", d.domainUpdate)
	user("GET /projects/{p}/domains/{d}/delete", d.domainDeletePage)
	user("POST /projects/{p}/domains/{d}/delete", d.domainDelete)

	user("GET /projects/{p}/injectables", d.injectableList)
	user("GET /projects/{p}/injectables/new", d.injectableNew)
	user("POST /projects/{p}/injectables", d.injectableCreate)
	user("GET /projects/{p}/injectables/{i}/edit", d.injectableEdit)
	user("POST /projects/{p}/injectables/{i}/edit", d.injectableUpdate)
	user("GET /projects/{p}/injectables/{i}/delete", d.injectableDeletePage)
	user("POST /projects/{p}/injectables/{i}/delete", d.injectableDelete)

	user("GET /api-keys", d.keyList)
	user("GET /api-keys/new", d.keyNew)
	user("POST /api-keys", d.freshIf(liveKeyForm, d.keyCreate))
	user("GET /api-keys/{k}", d.keyShow)
	user("GET /api-keys/{k}/secret", d.keySecret)
	user("POST /api-keys/{k}/rotate", d.freshIf(d.liveKey, d.keyRotate))
	user("GET /api-keys/{k}/revoke", d.keyRevokePage)
	user("POST /api-keys/{k}/revoke", d.keyRevoke)

	// Lists that scale (issue 19): every project's licenses at /licenses
	// (licensePicker), CSV export and bulk actions of a list's filter,
	// a key's edit page and its disable / enable.
	user("GET /licenses/export.csv", d.licenseExport(true))
	user("POST /licenses/bulk", d.licenseBulk(true))
	user("GET /projects/{p}/licenses/export.csv", d.licenseExport(false))
	user("POST /projects/{p}/licenses/bulk", d.licenseBulk(false))
	user("GET /api-keys/{k}/edit", d.keyEdit)
	user("POST /api-keys/{k}/edit", d.keyUpdate)
	user("POST /api-keys/{k}/disable", d.keyEnable(false))
	user("POST /api-keys/{k}/enable", d.keyEnable(true))

	user("GET /webhooks", d.webhookList)
	user("GET /webhooks/new", d.webhookNew)
	user("POST /webhooks", d.webhookCreate)
	user("GET /webhooks/{w}", d.webhookShow)
	user("GET /webhooks/{w}/secret", d.webhookSecret)
	user("GET /webhooks/{w}/edit", d.webhookEdit)
	user("POST /webhooks/{w}/edit", d.webhookUpdate)
	user("POST /webhooks/{w}/enable", d.webhookEnable(true))
	user("POST /webhooks/{w}/disable", d.webhookEnable(false))
	user("POST /webhooks/{w}/rotate", d.webhookRotate)
	user("POST /webhooks/{w}/test", d.webhookTest)
	user("POST /webhooks/{w}/deliveries/{dl}/retry", d.webhookRetry)
	user("GET /webhooks/{w}/delete", d.webhookDeletePage)
	user("POST /webhooks/{w}/delete", d.webhookDelete)

	user("GET /team", d.teamList)
	user("POST /team", d.teamAdd)
	user("POST /team/{u}/role", d.fresh(d.teamRole))
	user("GET /team/{u}/remove", d.teamRemovePage)
	user("POST /team/{u}/remove", d.teamRemove)

	// Invitations and password reset by email (issue 19): the team page's
	// invitations, the invited person's link (public: they may have no
	// account yet; joining with an account needs its session), and the
	// reset pages reached from the sign-in page and the mailed link.
	user("POST /team/invitations/{i}/resend", d.teamResendInvitation)
	user("POST /team/invitations/{i}/revoke", d.teamRevokeInvitation)
	page("GET /invite/{token}", d.invitePage)
	page("POST /invite/{token}", d.inviteAccept)
	user("POST /invite/{token}/join", d.inviteJoin)
	page("GET /forgot-password", d.forgotPage)
	page("POST /forgot-password", d.forgot)
	page("GET /reset-password/{token}", d.resetPage)
	page("POST /reset-password/{token}", d.reset)

	user("GET /audit", d.auditList)

	user("GET /settings", d.settings)
	user("POST /settings/profile", d.settingsProfile)
	user("POST /settings/password", d.settingsPassword)
	user("POST /settings/policy", d.settingsPolicy)
	user("POST /settings/license-defaults", d.orgDefaultsUpdate)

	// Second factors and re-authentication (issue 19, reauth.go): the
	// second step of a sign-in, passkey sign-in, the sign-in security page.
	// Sensitive actions elsewhere are wrapped in d.fresh (a fresh password
	// or factor within ReauthWindow).
	page("GET /login/factor", d.loginFactorPage)
	page("POST /login/factor", d.loginFactor)
	page("POST /login/factor/passkey/options", d.factorPasskeyOptions)
	page("POST /login/factor/passkey", d.factorPasskey)
	page("POST /login/passkey/options", d.passkeyLoginOptions)
	page("POST /login/passkey", d.passkeyLogin)
	user("POST /reauth/passkey/options", d.reauthPasskeyOptions)
	user("POST /reauth/passkey", d.reauthPasskey)
	user("GET /settings/security", d.security)
	user("GET /settings/security/totp", d.totpPage)
	user("POST /settings/security/totp", d.totpConfirm)
	user("POST /settings/security/totp/remove", d.fresh(d.totpRemove))
	user("POST /settings/security/recovery-codes", d.fresh(d.recoveryCodesRegenerate))
	user("GET "+recoveryCodesPath, d.recoveryCodesPage)
	user("POST /settings/security/passkeys/options", d.passkeyRegisterOptions)
	user("POST /settings/security/passkeys", d.passkeyRegister)
	user("POST /settings/security/passkeys/{id}/rename", d.passkeyRename)
	user("POST /settings/security/passkeys/{id}/remove", d.fresh(d.passkeyRemove))
	user("POST /settings/security/policy", d.fresh(d.securityPolicy))

	// The organization's name and its deletion (issue 19, org_settings.go).
	// Deleting asks for a fresh factor or password (d.fresh).
	user("POST /settings/organization", d.settingsOrganization)
	user("GET /settings/organization/delete", d.orgDeletePage)
	user("POST /settings/organization/delete", d.fresh(d.orgDelete))

	// Everything else outside /api/ is a dashboard 404 page.
	page("/", d.notFound)
}
