package web_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// axePage is one page the accessibility run visits: the routes.go pattern
// it stands for, the path opened (or reached with via, for the pages that
// only a form leads to) and the status expected.
type axePage struct {
	pattern string
	path    string
	status  int // 0: 200
	// at is where the browser must end up, when not path (a redirect).
	at string
	// via reaches the page instead of opening path: a form whose answer it is.
	via func(b *browser)
	// signedOut pages are visited before signing in (the first run) or
	// after signing out.
	signedOut bool
	// shot names a screenshot of the page in dark (see browser_test.go's shot).
	shot string
	// late pages come after every other signed-in page, in order: they
	// change the account (a second factor) the others are seen with.
	late bool
}

// axePages lists every GET page of the dashboard (TestAxeCoversEveryPage
// holds it to routes.go), on the data TestBrowserAxe seeds: project 1 has
// licenses 1 to 3 (1 with activations, uses and seats), domain 1 and
// injectable 1; key 1 and webhook endpoint 1 are made through their forms;
// users 2 to 4 are members.
var axePages = []axePage{
	{pattern: "GET /setup", path: "/setup", signedOut: true},
	{pattern: "GET /login", path: "/login", signedOut: true},
	{pattern: "/", path: "/no-such-page", status: http.StatusNotFound, signedOut: true},
	{pattern: "GET " + core.DocPath, path: core.DocPath, signedOut: true},

	{pattern: "GET /forgot-password", path: "/forgot-password", signedOut: true},
	{pattern: "GET /reset-password/{token}", path: "/reset-password/no-such-link", status: http.StatusNotFound, signedOut: true},

	{pattern: "GET /{$}", path: "/"},
	{pattern: "/", path: "/projects/1/no-such-page", status: http.StatusNotFound},
	{pattern: "GET /projects", path: "/projects"},
	{pattern: "GET /projects/new", path: "/projects/new"},
	{pattern: "GET /projects/{p}", path: "/projects/1"},
	{pattern: "GET /projects/{p}/edit", path: "/projects/1/edit"},
	{pattern: "GET /projects/{p}/delete", path: "/projects/1/delete"},
	{pattern: "GET /licenses", path: "/licenses"},
	{pattern: "GET /projects/{p}/licenses", path: "/projects/1/licenses"},
	{pattern: "GET /projects/{p}/licenses/new", path: "/projects/1/licenses/new"},
	{pattern: "GET /projects/{p}/licenses/{l}", path: "/projects/1/licenses/1", shot: "dark-license"},
	{pattern: "GET /projects/{p}/licenses/{l}", path: "/projects/1/licenses/2"}, // suspended
	{pattern: "GET /projects/{p}/licenses/{l}/edit", path: "/projects/1/licenses/1/edit"},
	{pattern: "GET /projects/{p}/licenses/{l}/delete", path: "/projects/1/licenses/1/delete"},
	{pattern: "GET /projects/{p}/domains", path: "/projects/1/domains"},
	{pattern: "GET /projects/{p}/domains/new", path: "/projects/1/domains/new"},
	{pattern: "GET /projects/{p}/domains/{d}/edit", path: "/projects/1/domains/1/edit"},
	{pattern: "GET /projects/{p}/domains/{d}/delete", path: "/projects/1/domains/1/delete"},
	{pattern: "GET /projects/{p}/injectables", path: "/projects/1/injectables"},
	{pattern: "GET /projects/{p}/injectables/new", path: "/projects/1/injectables/new"},
	{pattern: "GET /projects/{p}/injectables/{i}/edit", path: "/projects/1/injectables/1/edit"},
	{pattern: "GET /projects/{p}/injectables/{i}/delete", path: "/projects/1/injectables/1/delete"},
	{pattern: "GET /api-keys/new", path: "/api-keys/new"},
	{pattern: "GET /api-keys/{k}/secret", path: "/api-keys/1/secret", via: func(b *browser) {
		b.open("/api-keys/new")
		b.fill("f-name", "deploy pipeline", "f-project_id", "1")
		b.do(chromedp.Click(chromedp.CSS(`input[value="licenses:read"]`)))
		b.submit("create-key")
	}},
	{pattern: "GET /api-keys", path: "/api-keys"},
	{pattern: "GET /api-keys/{k}", path: "/api-keys/1"},
	{pattern: "GET /api-keys/{k}/revoke", path: "/api-keys/1/revoke"},
	{pattern: "GET /api-keys/{k}/edit", path: "/api-keys/1/edit"},
	{pattern: "GET /webhooks/new", path: "/webhooks/new"},
	{pattern: "GET /webhooks/{w}/secret", path: "/webhooks/1/secret", via: func(b *browser) {
		b.open("/webhooks/new")
		b.fill("f-url", "https://hooks.acme.test/latchkey", "f-description", "Billing sync")
		b.do(chromedp.Click(chromedp.CSS(`input[name="events"][value="license.created"]`)))
		b.submit("save-webhook")
	}},
	{pattern: "GET /webhooks", path: "/webhooks"},
	{pattern: "GET /webhooks/{w}", path: "/webhooks/1"},
	{pattern: "GET /webhooks/{w}/edit", path: "/webhooks/1/edit"},
	{pattern: "GET /webhooks/{w}/delete", path: "/webhooks/1/delete"},
	{pattern: "GET /team", path: "/team"},
	{pattern: "GET /team/{u}/remove", path: "/team/2/remove"},
	{pattern: "GET /audit", path: "/audit"},
	{pattern: "GET /settings", path: "/settings"},
	{pattern: "GET /settings/organization/delete", path: "/settings/organization/delete"},
	{pattern: "GET /settings/security", path: "/settings/security"},
	{pattern: "GET /settings/security/totp", path: "/settings/security/totp"},
	// An invitation's page, opened by its holder (signed in as someone
	// else here: the page says so); the token is made in TestBrowserAxe.
	{pattern: "GET /invite/{token}", path: "/invite/{invite}"},
	// The recovery codes, shown once when the authenticator app is turned
	// on; then the second step of the next sign-in.
	{pattern: "GET /settings/security/recovery-codes", path: "/settings/security/recovery-codes", late: true, via: func(b *browser) {
		b.open("/settings/security/totp")
		code, err := totp.GenerateCode(b.text("#totp-secret"), axeClock.Now())
		if err != nil {
			b.t.Fatal(err)
		}
		b.fill("f-code", code)
		b.submit("totp-confirm")
	}},
	{pattern: "GET /login/factor", path: "/login/factor", late: true, via: func(b *browser) {
		b.submit("sign-out")
		b.open("/login")
		b.fill("f-email", "ada@acme.test", "f-password", password)
		b.submit("sign-in")
	}},
	// A form refused with its messages under the fields.
	{pattern: "GET /projects/{p}/licenses/new", path: "/projects/1/licenses", status: http.StatusUnprocessableEntity, via: func(b *browser) {
		b.open("/projects/1/licenses/new")
		b.fill("f-title", "Customer B", "f-max_domains", "-1")
		b.submit("save-license")
	}},
}

// axeClock is the node's clock, for the authenticator codes of the late
// pages.
var axeClock interface{ Now() time.Time }

// routesGETPatterns reads the patterns of every page routes.go registers:
// each "GET …" string (with core.DocPath spelled out) and the catch-all
// "/", without /static/.
func routesGETPatterns(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`"GET ([^"]*)"(\s*\+\s*(core\.DocPath|recoveryCodesPath))?`).FindAllStringSubmatch(string(src), -1) {
		p := "GET " + m[1]
		switch m[3] {
		case "core.DocPath":
			p += core.DocPath
		case "recoveryCodesPath":
			p += "/settings/security/recovery-codes"
		}
		if p != "GET /static/" {
			out = append(out, p)
		}
	}
	for _, m := range regexp.MustCompile(`\("(/[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
		out = append(out, m[1]) // a pattern without a method: the 404 page
	}
	return out
}

// TestAxeCoversEveryPage holds axePages to routes.go, so that a new page
// cannot be left out of the accessibility run (and a removed one not linger).
func TestAxeCoversEveryPage(t *testing.T) {
	routes := routesGETPatterns(t)
	if len(routes) < 30 {
		t.Fatalf("found only %d GET patterns in routes.go: has its form changed?", len(routes))
	}
	var listed []string
	for _, p := range axePages {
		listed = append(listed, p.pattern)
	}
	for _, r := range routes {
		if strings.HasSuffix(r, ".csv") {
			continue // a download (CSV), not a page
		}
		if !slices.Contains(listed, r) {
			t.Errorf("routes.go registers %q but axePages (browser_axe_test.go) has no page for it", r)
		}
	}
	for _, l := range listed {
		if !slices.Contains(routes, l) {
			t.Errorf("axePages lists %q, which routes.go does not register", l)
		}
	}
}

// axeScript returns axe-core's browser build, installed from npm by name
// (acceptance/axe, pinned by its package-lock.json): .ci/run runs npm ci,
// and so does this when node_modules is missing. Outside CI, no npm or no
// registry is a skip.
func axeScript(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "acceptance", "axe"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
	if _, err := os.Stat(file); err != nil {
		if _, err := exec.LookPath("npm"); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("CI is set but npm is missing: .ci/run installs it for acceptance/axe")
			}
			t.Skip("skipping the accessibility run: no npm to install axe-core (cd acceptance/axe && npm ci)")
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			if os.Getenv("CI") == "" {
				t.Skipf("skipping the accessibility run: npm ci in %s failed (is the npm registry reachable?)\n%s", dir, out)
			}
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// colorScheme makes the page's prefers-color-scheme light or dark, as the
// system's setting would.
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	})
}

// axeViolation is what the run reports of one rule broken.
type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target  string `json:"target"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// axeRun runs every axe rule on the page and keeps the serious and
// critical violations (the done-when's bar; moderate and minor ones are
// not failures).
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
  .filter(v => v.impact === "serious" || v.impact === "critical")
  .map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary}))})))`

// checkAxe injects axe into the current page (DevTools evaluation, which
// the page's CSP does not govern) and runs it in light then dark. It
// returns the report of what failed, "" when nothing did.
func (b *browser) checkAxe(script, label string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](script)); err != nil {
		b.t.Fatalf("inject axe into %s: %v", label, err)
	}
	var report strings.Builder
	colors := map[string]string{}
	for _, scheme := range []string{"light", "dark"} {
		if err := chromedp.Do(ctx, colorScheme(scheme)); err != nil {
			b.t.Fatal(err)
		}
		fg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).color`))
		if err != nil {
			b.t.Fatal(err)
		}
		colors[scheme] = fg
		vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
		if err != nil {
			b.t.Fatalf("axe on %s (%s): %v", label, scheme, err)
		}
		for _, v := range vs {
			fmt.Fprintf(&report, "%s, %s: %s (%s) %s\n", label, scheme, v.ID, v.Impact, v.Help)
			fmt.Fprintf(&report, "    %s\n", v.HelpURL)
			for _, n := range v.Nodes {
				fmt.Fprintf(&report, "    %s\n      %s\n", n.Target, strings.ReplaceAll(n.Summary, "\n", "\n      "))
			}
		}
	}
	if colors["light"] == colors["dark"] {
		b.t.Fatalf("%s has the same text colour in light and dark (%s): the dark scheme did not apply", label, colors["light"])
	}
	return report.String()
}

// TestBrowserAxe runs axe-core in Chromium on every page of the dashboard
// (axePages), each in light and in dark, and fails on any serious or
// critical violation, listing them all with their rule, element and help.
func TestBrowserAxe(t *testing.T) {
	path := needChromium(t)
	script := axeScript(t)
	n := apptest.New(t, backends(t)[0])
	b := newBrowser(t, path, n)
	ctx := context.Background()
	var report strings.Builder
	checked := 0
	inviteToken := ""
	visit := func(p axePage) {
		t.Helper()
		status := int64(http.StatusOK)
		p.path = strings.ReplaceAll(p.path, "{invite}", inviteToken)
		if p.via != nil {
			p.via(b)
		} else {
			cctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
			resp, err := chromedp.RunResponse(cctx, chromedp.Navigate(b.url+p.path))
			cancel()
			if err != nil {
				t.Fatalf("open %s: %v", p.path, err)
			}
			status = resp.Status
		}
		want := p.status
		if want == 0 {
			want = http.StatusOK
		}
		at := p.at
		if at == "" {
			at = p.path
		}
		if got := b.path(); got != at {
			t.Fatalf("%s: at %s, want %s\n%s", p.pattern, got, at, b.text("body"))
		}
		if p.via == nil && status != int64(want) {
			t.Fatalf("%s: status %d, want %d", p.path, status, want)
		}
		report.WriteString(b.checkAxe(script, p.path))
		checked++
		if p.shot != "" {
			b.shot(p.shot) // checkAxe ends in dark
		}
	}

	// The first run's form, before any user exists.
	for _, p := range axePages {
		if p.signedOut && p.path == "/setup" {
			visit(p)
		}
	}
	// The run can fail: an image without a text alternative, a button
	// without a name and faint text are reported (critical, critical,
	// serious). (The CSP does not govern DevTools' script, nor the CSSOM.)
	b.eval(`(() => { document.querySelector("main").insertAdjacentHTML("beforeend",
	  '<img src="/static/favicon.svg"><button type="button"></button><p id="faint">faint</p>');
	  document.getElementById("faint").style.color = "#e5e5e5"; return ""; })()`)
	if r := b.checkAxe(script, "self-check"); !strings.Contains(r, "image-alt (critical)") ||
		!strings.Contains(r, "button-name (critical)") || !strings.Contains(r, "color-contrast (serious)") ||
		!strings.Contains(r, "https://dequeuniversity.com/rules/axe/") {
		t.Fatalf("axe missed the planted violations:\n%s", r)
	}
	b.do(chromedp.Reload())
	b.fill("f-org", "Acme Software", "f-name", "Ada Lovelace", "f-email", "ada@acme.test", "f-password", password)
	b.submit("create-owner")
	b.submit("sign-out")
	for _, p := range axePages {
		if p.signedOut && p.path != "/setup" {
			visit(p)
		}
	}
	// The sign-in form refused, with its message.
	b.open("/login")
	b.fill("f-email", "ada@acme.test", "f-password", "not the password")
	b.submit("sign-in")
	report.WriteString(b.checkAxe(script, "/login (refused)"))

	// The data every page shows, made through the service as the API would.
	acc := apptest.Account{OrgID: mustOrg(t, n, "Acme Software"), UserID: 1}
	a := acc.Actor()
	pid := createProject(t, n, acc, "Pro Plugin")
	createProject(t, n, acc, "Theme Kit")
	if _, err := n.Service().CreateDomain(ctx, a, pid, serviceDomain("shop.example.com")); err != nil {
		t.Fatal(err)
	}
	var lics []*core.License
	for _, title := range []string{"Customer A", "Globex Corp", "Initech (trial)"} {
		l, err := n.Service().CreateLicense(ctx, a, pid, service.LicenseInput{Title: service.Some(title),
			MaxDomains: service.Some(ptr(int64(3))), IsTestLicense: service.Some(strings.Contains(title, "trial"))})
		if err != nil {
			t.Fatal(err)
		}
		lics = append(lics, l)
	}
	if _, err := n.Service().SuspendLicense(ctx, a, pid, lics[1].ID); err != nil {
		t.Fatal(err)
	}
	three, ttl := int64(3), int64(120)
	mp, tp := &three, &ttl
	if _, err := n.Store.UpdateLicense(ctx, lics[0].ID, core.LicenseUpdate{MaxConcurrent: &mp, HeartbeatTTL: &tp}); err != nil {
		t.Fatal(err)
	}
	n.Service().Invalidate(core.Change{Kind: core.ChangeLicense, ID: lics[0].ID}) // written behind the service's back
	for _, host := range []string{"shop.customer-a.com", "customer-a.net"} {
		n.Do(t, "POST", "/api/v1/licenses/validate", map[string]any{"domain": host}, "X-LICENSE-KEY", lics[0].UUID)
	}
	n.Do(t, "POST", "/api/v1/licenses/heartbeat", map[string]any{"instance": "pc-alpha", "domain": "studio"}, "X-LICENSE-KEY", lics[0].UUID)
	if err := n.Stack.Validator.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var uses []core.LicenseUse
	for i := 1; i < 30; i++ {
		uses = append(uses, core.LicenseUse{LicenseID: lics[0].ID, Day: n.Clock.Now().AddDate(0, 0, -i).Format("2006-01-02"), Count: int64(10 + i)})
	}
	if err := n.Store.RecordLicenseUses(ctx, uses); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Service().CreateInjectable(ctx, a, pid, service.InjectableInput{Title: service.Some("Banner"),
		Type: service.Some("snippet"), Mode: service.Some("inject"), TargetPath: service.Some("a.js"),
		Secret: service.Some("s3cret-for-injectables"), Content: service.Some("x"),
		OnlyIfPaid: service.Some(false), IsActive: service.Some(true)}); err != nil {
		t.Fatal(err)
	}
	n.CreateUser(t, "Acme Software", "grace@acme.test", core.RoleAdmin)
	n.CreateUser(t, "Acme Software", "linus@acme.test", core.RoleDeveloper)
	n.CreateUser(t, "Acme Software", "mia@acme.test", core.RoleViewer)

	b.open("/login")
	b.fill("f-email", "ada@acme.test", "f-password", password)
	b.submit("sign-in")
	inv, err := n.Service().Invite(ctx, a, service.InviteInput{Email: "noor@acme.test", Role: core.RoleDeveloper})
	if err != nil {
		t.Fatal(err)
	}
	inviteToken = inv.Token
	for _, p := range axePages {
		if !p.signedOut && !p.late {
			visit(p)
		}
	}

	// On a phone, with the menu open.
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	b.open("/projects/1/licenses/1")
	b.do(chromedp.Click(chromedp.ID("menu-button")))
	report.WriteString(b.checkAxe(script, "/projects/1/licenses/1 (phone, menu open)"))
	b.do(chromedp.EmulateViewport(1280, 900))
	axeClock = n.Clock
	for _, p := range axePages {
		if p.late {
			visit(p)
		}
	}

	t.Logf("axe-core checked %d pages in light and dark", checked)
	if report.Len() > 0 {
		t.Fatalf("axe-core found serious or critical violations:\n%s", report.String())
	}
}
