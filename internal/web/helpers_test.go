package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// password is what apptest.CreateUser gives every user.
const password = "correct horse battery"

// eachBackend runs fn on a fresh node of every configured backend.
func eachBackend(t *testing.T, fn func(t *testing.T, n *apptest.Node), opts ...apptest.Option) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, apptest.New(t, b, opts...))
		})
	}
}

// client is a browser without JavaScript: it keeps cookies, does not
// follow redirects (tests look at them), and sends the CSRF token of the
// last page it saw with its posts.
type client struct {
	t    testing.TB
	n    *apptest.Node
	hc   *http.Client
	csrf string
}

// page is one answer.
type page struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

func newClient(t testing.TB, n *apptest.Node) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, n: n, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// do sends a request; headers are name/value pairs.
func (c *client) do(method, path string, body io.Reader, contentType string, headers ...string) *page {
	c.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, c.n.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	p := &page{Status: resp.StatusCode, Header: resp.Header, Body: string(b), Location: resp.Header.Get("Location")}
	if m := csrfRE.FindStringSubmatch(p.Body); m != nil {
		c.csrf = m[1]
	}
	if p.Status >= 500 {
		c.t.Errorf("%s %s: %d\n%s", method, path, p.Status, p.Body)
	}
	return p
}

func (c *client) get(path string, headers ...string) *page {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil, "", headers...)
}

// post sends a form with the current CSRF token, unless the form sets
// _csrf itself.
func (c *client) post(path string, form url.Values, headers ...string) *page {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", c.csrf)
	}
	return c.do(http.MethodPost, path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded", headers...)
}

// follow gets where a redirect points.
func (c *client) follow(p *page) *page {
	c.t.Helper()
	if p.Location == "" {
		c.t.Fatalf("not a redirect: %d\n%s", p.Status, p.Body)
	}
	return c.get(p.Location)
}

// cookie returns the jar's cookie for the node.
func (c *client) cookie(name string) *http.Cookie {
	u, _ := url.Parse(c.n.URL)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// signIn returns a client signed in as email.
func signIn(t testing.TB, n *apptest.Node, email string) *client {
	t.Helper()
	c := newClient(t, n)
	c.get("/login")
	p := c.post("/login", url.Values{"email": {email}, "password": {password}})
	if p.Status != http.StatusSeeOther || p.Location != "/projects" {
		t.Fatalf("sign in as %s: %d %q\n%s", email, p.Status, p.Location, p.Body)
	}
	c.get("/projects") // picks up the session's CSRF token
	return c
}

// owner creates an organization with an owner and signs them in.
func owner(t testing.TB, n *apptest.Node, org, email string) (*client, apptest.Account) {
	t.Helper()
	acc := n.CreateUser(t, org, email, core.RoleOwner)
	return signIn(t, n, email), acc
}

func wantStatus(t testing.TB, p *page, status int) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("status %d, want %d\n%s", p.Status, status, p.Body)
	}
}

func wantRedirect(t testing.TB, p *page, to string) {
	t.Helper()
	if p.Status != http.StatusSeeOther || p.Location != to {
		t.Fatalf("got %d to %q, want 303 to %q\n%s", p.Status, p.Location, to, p.Body)
	}
}

// text returns the page's text with tags removed and entities decoded,
// so tests can look for what a person reads.
func (p *page) text() string {
	s := regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(p.Body, " ")
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}

func wantText(t testing.TB, p *page, want ...string) {
	t.Helper()
	txt := p.text()
	for _, w := range want {
		if !strings.Contains(txt, w) {
			t.Errorf("page lacks %q:\n%s", w, txt)
		}
	}
}

func wantNoText(t testing.TB, p *page, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(p.Body, w) {
			t.Errorf("page holds %q", w)
		}
	}
}

// fieldError returns the message shown under a form field.
func fieldError(p *page, field string) string {
	re := regexp.MustCompile(`<p class="field-error" id="e-` + regexp.QuoteMeta(field) + `">([^<]*)</p>`)
	if m := re.FindStringSubmatch(p.Body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

func backends(t testing.TB) []storetest.Backend { return storetest.Backends(t) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// createProject makes a project through the service, for tests about other
// pages.
func createProject(t testing.TB, n *apptest.Node, acc apptest.Account, name string) int64 {
	t.Helper()
	p, err := n.Service().CreateProject(context.Background(), acc.Actor(), service.ProjectInput{Name: service.Some(name),
		HasPaid: service.Some(true)})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func serviceDomain(name string) service.DomainInput {
	return service.DomainInput{Domain: service.Some(name), Environment: service.Some(core.EnvProduction),
		IsVerified: service.Some(true), HasPaid: service.Some(true)}
}

// flashOf returns the one-time message of a page.
func flashOf(p *page) string {
	m := regexp.MustCompile(`<div class="flash flash-\w+" role="status">([^<]*)</div>`).FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// liveKeys counts the usable API keys of acc's organization that acc sees.
func liveKeys(t testing.TB, n *apptest.Node, acc apptest.Account) int {
	t.Helper()
	ks, err := n.Service().ListAPIKeys(context.Background(), acc.Actor(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, k := range ks {
		if k.Usable(n.Clock.Now()) {
			live++
		}
	}
	return live
}
