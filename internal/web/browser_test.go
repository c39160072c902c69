package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/client/webhook"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/web"
)

// screenshotDir is where the browser test saves the README's screenshots
// when LATCHKEY_UPDATE_SCREENSHOTS is set; otherwise it still takes them
// (so the pages render) but writes them to a temporary directory, leaving
// the committed ones alone (keys and dates differ on every run).
var screenshotDir = filepath.Join("..", "..", "docs", "screenshots")

// chromium finds a Chromium or Chrome binary: $LATCHKEY_CHROMIUM, else
// the usual names on PATH.
func chromium() string {
	if p := os.Getenv("LATCHKEY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser drives one Chromium tab against a node.
type browser struct {
	t   *testing.T
	ctx context.Context
	url string
}

// needChromium returns the browser binary, or skips the test when there is
// none, except under CI, which must run it.
func needChromium(t *testing.T) string {
	path := chromium()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but no Chromium was found: .ci/run installs Debian's chromium; set LATCHKEY_CHROMIUM to another binary")
		}
		t.Skip("skipping the browser test: no Chromium found (apt-get install chromium, or set LATCHKEY_CHROMIUM); CI never skips it")
	}
	return path
}

func newBrowser(t *testing.T, path string, n *apptest.Node) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		// Nothing but the test server: no QUIC probes, updates or sync
		// reaching for a network that is closed here.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	// Start the browser without a deadline (the first call binds its life
	// to its context), then give every step one.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	return &browser{t: t, ctx: ctx, url: n.URL}
}

// do runs steps, failing the test on an error or after 15 seconds.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// open loads a path of the node.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.url + path))
}

// submit clicks a button (or link) and waits for the next page; it returns
// the page's status.
func (b *browser) submit(button string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID(button)))
	if err != nil {
		b.t.Fatalf("click #%s: %v", button, err)
	}
	if resp.Status >= 500 {
		b.t.Fatalf("click #%s: status %d on %s\n%s", button, resp.Status, resp.URL, b.text("body"))
	}
	return resp.Status
}

// fill sets form fields by id.
func (b *browser) fill(fields ...string) {
	b.t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(fields); i += 2 {
		steps = append(steps, chromedp.SetValue(chromedp.ID(fields[i]), fields[i+1]))
	}
	b.do(steps...)
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *browser) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, b.url)
}

// wantPage checks where the browser is and what the page says.
func (b *browser) wantPage(path string, texts ...string) {
	b.t.Helper()
	if got := b.path(); got != path {
		b.t.Fatalf("at %s, want %s\n%s", got, path, b.text("body"))
	}
	body := b.text("body")
	for _, want := range texts {
		if !strings.Contains(body, want) {
			b.t.Fatalf("%s lacks %q:\n%s", path, want, body)
		}
	}
}

// shot saves a screenshot of the whole page for the README.
func (b *browser) shot(name string) { b.save(name, chromedp.FullScreenshot(100)) }

// shotScreen saves a screenshot of what the screen shows (a phone's).
func (b *browser) shotScreen(name string) { b.save(name, chromedp.CaptureScreenshot()) }

func (b *browser) save(name string, capture chromedp.Action[[]byte]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, capture)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if len(png) < 1000 {
		b.t.Fatalf("screenshot %s is only %d bytes", name, len(png))
	}
	dir := screenshotDir
	if os.Getenv("LATCHKEY_UPDATE_SCREENSHOTS") == "" {
		dir = b.t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// callAPI makes a request as a vendor's backend would, with an API key.
func callAPI(t *testing.T, n *apptest.Node, secret, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, n.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-KEY", secret)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // a test's read-only response
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestBrowser drives real Chromium through the dashboard: first run,
// sign-in, a project, a license suspended and reactivated, an API key whose
// shown-once secret works against the API until it is revoked in the UI,
// and sign-out. It saves the screenshots shown in the README.
func TestBrowser(t *testing.T) {
	path := needChromium(t)
	n := apptest.New(t, backends(t)[0])
	b := newBrowser(t, path, n)
	ctx := context.Background()

	// First run: the instance has no user, so / leads to the owner form.
	b.open("/")
	b.wantPage("/setup", "Welcome to Latchkey")
	b.fill("f-org", "Acme Software", "f-name", "Ada Lovelace", "f-email", "ada@acme.test", "f-password", password)
	b.shot("setup")
	b.submit("create-owner")
	b.wantPage("/projects", "Welcome to Latchkey. Create your first project", "No projects yet")

	// Sign out and in again.
	b.submit("sign-out")
	b.wantPage("/login", "You have signed out.")
	b.open("/setup")
	b.wantPage("/login", "Sign in") // the first-run page is gone for good
	b.fill("f-email", "ada@acme.test", "f-password", "not the password")
	if status := b.submit("sign-in"); status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", status)
	}
	b.wantPage("/login", "These credentials do not match our records.")
	b.fill("f-email", "ada@acme.test", "f-password", password)
	b.shot("login")
	b.submit("sign-in")
	b.wantPage("/projects", "No projects yet")

	// A project.
	b.do(chromedp.Click(chromedp.ID("new-project")))
	b.do(chromedp.WaitVisible(chromedp.ID("f-name")))
	b.fill("f-name", "Pro Plugin", "f-description", "The premium WordPress plugin.", "f-default_redirect_url", "https://acme.test/buy",
		"f-webhook_url", "https://acme.test/hooks/latchkey", "f-webhook_secret", "whsec_0123456789")
	b.do(chromedp.Click(chromedp.CSS(`input[name="has_paid"]`)))
	b.submit("save-project")
	b.wantPage("/projects/1", "Project Pro Plugin created.", "pro-plugin", "https://acme.test/buy")

	// Fixtures the screenshots show, made through the service as the API
	// would: a domain, more licenses, more members.
	acc := apptest.Account{OrgID: mustOrg(t, n, "Acme Software"), UserID: 1}
	if _, err := n.Service().CreateDomain(ctx, acc.Actor(), 1, serviceDomain("shop.example.com")); err != nil {
		t.Fatal(err)
	}
	for _, title := range []string{"Globex Corp", "Initech (trial)", "Umbrella Ltd"} {
		in := service.LicenseInput{Title: service.Some(title), MaxDomains: service.Some(ptr(int64(2))),
			IsTestLicense: service.Some(strings.Contains(title, "trial"))}
		if _, err := n.Service().CreateLicense(ctx, acc.Actor(), 1, in); err != nil {
			t.Fatal(err)
		}
	}
	n.CreateUser(t, "Acme Software", "grace@acme.test", core.RoleAdmin)
	n.CreateUser(t, "Acme Software", "linus@acme.test", core.RoleDeveloper)
	n.CreateUser(t, "Acme Software", "mia@acme.test", core.RoleViewer)

	// A license, with the fields of seed 001 and their validation.
	b.open("/projects/1/licenses/new")
	b.fill("f-title", "Customer A", "f-max_domains", "-1")
	if status := b.submit("save-license"); status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid license: %d", status)
	}
	if got := b.text("#e-max_domains"); got != web.HumanMessage("The max domains field must be at least 0.") {
		t.Fatalf("max_domains error %q", got)
	}
	expires := n.Clock.Now().AddDate(1, 0, 0).Format("2006-01-02")
	b.fill("f-title", "Customer A", "f-max_domains", "3", "f-max_usage_per_day", "1000", "f-expires_at", expires,
		"f-allowed_ips", "127.0.0.1, 203.0.113.0/24")
	b.submit("save-license")
	b.wantPage("/projects/1/licenses/4", "License Customer A created.", "127.0.0.1, 203.0.113.0/24", "1000")
	key := b.text("#license-key")

	// Copies validate it: activations, and a month of history for the chart.
	for _, host := range []string{"shop.customer-a.com", "blog.customer-a.com", "customer-a.net"} {
		r := n.Do(t, "POST", "/api/v1/licenses/validate", map[string]any{"domain": host}, "X-LICENSE-KEY", key)
		if r.Status != 200 || !strings.Contains(string(r.Body), `"valid":true`) {
			t.Fatalf("validate: %d %s", r.Status, r.Body)
		}
	}
	if err := n.Stack.Validator.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var uses []core.LicenseUse
	for i := 1; i < 30; i++ {
		day := n.Clock.Now().AddDate(0, 0, -i).Format("2006-01-02")
		uses = append(uses, core.LicenseUse{LicenseID: 4, Day: day, Count: int64(40 + (i*37)%60 - i)})
	}
	if err := n.Store.RecordLicenseUses(ctx, uses); err != nil {
		t.Fatal(err)
	}

	// Suspend and reactivate; the API agrees at once.
	b.open("/projects/1/licenses/4")
	b.submit("suspend")
	b.wantPage("/projects/1/licenses/4", "License suspended.", "suspended")
	r := n.Do(t, "POST", "/api/v1/licenses/validate", map[string]any{"domain": "shop.customer-a.com"}, "X-LICENSE-KEY", key)
	if !strings.Contains(string(r.Body), `"code":"SUSPENDED"`) {
		t.Fatalf("suspended license validated: %s", r.Body)
	}
	b.submit("reactivate")
	b.wantPage("/projects/1/licenses/4", "License reactivated.", "shop.customer-a.com", "customer-a.net")
	b.shot("license")
	b.open("/projects/1/licenses")
	b.wantPage("/projects/1/licenses", "Customer A", "Globex Corp", "Initech (trial)")
	b.shot("licenses")
	b.open("/projects/1")
	b.shot("project")

	// An API key, exactly the seeds' flow: the secret is shown once.
	b.open("/api-keys")
	b.do(chromedp.Click(chromedp.ID("new-key")))
	b.do(chromedp.WaitVisible(chromedp.ID("f-name")))
	b.fill("f-name", "deploy pipeline", "f-description", "CI for the pro plugin", "f-project_id", "1")
	for _, s := range []string{"projects:read", "licenses:read", "licenses:write"} {
		b.do(chromedp.Click(chromedp.CSS(`input[value="` + s + `"]`)))
	}
	b.shot("api-key-new")
	b.submit("create-key")
	b.wantPage("/api-keys/1/secret", "Copy this key now.", "shown only once")
	secret := b.text("#secret")
	if !strings.HasPrefix(secret, "sk_live_") || len(secret) != 46 {
		t.Fatalf("secret %q", secret)
	}
	b.shot("api-key-secret")

	// The vendor's backend uses it.
	status, body := callAPI(t, n, secret, "/api/v1/project/1/licenses")
	if status != 200 {
		t.Fatalf("API with the new key: %d %s", status, body)
	}
	var list struct {
		Data struct {
			Data []struct{ Title string } `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Data.Data) != 4 || list.Data.Data[0].Title != "Customer A" {
		t.Fatalf("licenses over the API: %v %s", err, body)
	}
	var keyUses []core.KeyUse
	for i := 1; i < 30; i++ {
		keyUses = append(keyUses, core.KeyUse{KeyID: 1, Day: n.Clock.Now().AddDate(0, 0, -i).Format("2006-01-02"),
			Count: int64(200 + (i*53)%150), LastUsedAt: n.Clock.Now().AddDate(0, 0, -i), LastUsedIP: "203.0.113.9"})
	}
	if err := n.Store.RecordKeyUses(ctx, keyUses); err != nil {
		t.Fatal(err)
	}

	// Reloading the secret page repeats its GET, not the post: it shows
	// the key without its secret and creates no second key.
	b.do(chromedp.Reload())
	b.wantPage("/api-keys/1", "deploy pipeline", "sk_live_…"+secret[len(secret)-4:], "shown only once")
	if strings.Contains(b.text("body"), secret) {
		t.Fatal("the secret was shown again")
	}
	b.shot("api-key")
	b.open("/api-keys")
	b.shot("api-keys")

	// Revoke it in the UI, with its confirmation step: the API refuses it.
	b.open("/api-keys/1")
	b.submit("revoke-key")
	b.wantPage("/api-keys/1/revoke", "Revoke the API key deploy pipeline?")
	b.submit("confirm")
	b.wantPage("/api-keys/1", "revoked: it no longer works.")
	if status, body := callAPI(t, n, secret, "/api/v1/project/1/licenses"); status != 403 || !strings.Contains(body, "INVALID_API_KEY") {
		t.Fatalf("revoked key: %d %s", status, body)
	}

	b.open("/team")
	b.shot("team")
	b.open("/audit")
	b.wantPage("/audit", "api_key.revoke", "license.reactivate", "license.suspend", "project.create", "user.sign_in")
	b.shot("audit")

	// On a phone.
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	b.open("/projects/1/licenses/4")
	b.shotScreen("phone-license")
	b.do(chromedp.EmulateViewport(1280, 900))

	// Sign out: the dashboard is closed again.
	b.open("/projects")
	b.submit("sign-out")
	b.wantPage("/login", "You have signed out.")
	b.open("/api-keys")
	b.wantPage("/login?next=%2Fapi-keys", "Sign in")
}

func ptr[T any](v T) *T { return &v }

// reloadUntil reloads the page until the text of sel holds want: webhook
// deliveries run in the background, so their outcome shows a moment after
// the post that queued them. Case is ignored (badges are capitalised on
// screen). A minute bounds a hang; it measures nothing.
func (b *browser) reloadUntil(sel, want string) {
	b.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(strings.ToLower(b.text(sel)), strings.ToLower(want)) {
		if time.Now().After(deadline) {
			b.t.Fatalf("%s of %s lacks %q after a minute:\n%s", sel, b.path(), want, b.text("body"))
		}
		b.do(chromedp.Reload())
	}
}

// TestBrowserWebhooks drives real Chromium through the Webhooks page: an
// endpoint pointing at a real receiver on loopback, its signing secret
// shown once (and a reload that does not show it again), a test event
// whose signature verifies with that secret, its delivery seen to succeed
// in the list, and a retry of it. It saves the Webhooks screenshots.
func TestBrowserWebhooks(t *testing.T) {
	path := needChromium(t)
	n := apptest.New(t, backends(t)[0], insecureWebhooks)
	acc := n.CreateUser(t, "Acme Software", "ada@acme.test", core.RoleOwner)
	createProject(t, n, acc, "Pro Plugin")
	rc := apptest.NewReceiver(t)
	b := newBrowser(t, path, n)

	b.open("/login")
	b.fill("f-email", "ada@acme.test", "f-password", password)
	b.submit("sign-in")
	b.wantPage("/projects", "Pro Plugin")
	b.open("/webhooks")
	b.wantPage("/webhooks", "No webhook endpoints yet")

	// Create an endpoint for two license events of one project.
	b.submit("new-webhook")
	b.wantPage("/webhooks/new", "New webhook endpoint", "All events, including types added later")
	b.fill("f-url", rc.URL, "f-description", "Billing sync", "f-project_id", "1")
	for _, typ := range []string{"license.created", "license.revoked"} {
		b.do(chromedp.Click(chromedp.CSS(`input[name="events"][value="` + typ + `"]`)))
	}
	b.shot("webhook-new")
	b.submit("save-webhook")
	b.wantPage("/webhooks/1/secret", "Copy this secret now.", "shown only once", rc.URL)
	secret := b.text("#secret")
	if !strings.HasPrefix(secret, "whsec_") || len(secret) != 49 {
		t.Fatalf("secret %q", secret)
	}
	b.shot("webhook-secret")
	b.do(chromedp.Reload())
	b.wantPage("/webhooks/1", "shown only once", "Billing sync", "license.created, license.revoked", "Pro Plugin")
	if strings.Contains(b.text("body"), secret) {
		t.Fatal("the secret was shown again")
	}

	// A test event reaches the receiver, signed with that secret, and the
	// page shows its delivery succeed.
	b.submit("send-test")
	b.wantPage("/webhooks/1", "Test event evt_", "queued")
	got := rc.Wait(t, 1)[0]
	ev, err := webhook.VerifyAt(got.Body, got.Header.Get(webhook.SignatureHeader), secret, 5*time.Minute, n.Clock.Now())
	if err != nil || ev.Type != "ping" {
		t.Fatalf("the test event: %v %+v", err, ev)
	}
	ds, err := n.Service().ListDeliveries(context.Background(), acc.Actor(), 1, core.DeliveryFilter{Limit: 10})
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries: %v %+v", err, ds)
	}
	row := "#delivery-" + itoa(ds[0].ID)
	b.reloadUntil(row+" .d-status", "succeeded")
	b.wantPage("/webhooks/1", "ping", ev.ID, "1 attempt", "200")

	// Retry it: a second attempt, which succeeds too.
	b.submit("retry-" + itoa(ds[0].ID))
	b.wantPage("/webhooks/1", "queued again.")
	rc.Wait(t, 2)
	b.reloadUntil(row+" .d-attempts", "2")
	if got := b.text(row + " .d-status"); got != "Succeeded" {
		t.Fatalf("after the retry: %q", got)
	}
	b.wantPage("/webhooks/1", "2 attempts")
	b.shot("webhook")

	b.open("/webhooks")
	b.wantPage("/webhooks", rc.URL, "Billing sync", "license.created, license.revoked", "Pro Plugin", "Enabled")
	b.shot("webhooks")
}
