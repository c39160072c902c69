package web_test

import (
	"context"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
)

// cssBlock returns the custom properties declared in the first block of
// css that follows the text start.
func cssBlock(t *testing.T, css, start string) map[string]string {
	t.Helper()
	i := strings.Index(css, start)
	if i < 0 {
		t.Fatalf("app.css lacks %q", start)
	}
	body := css[i+len(start):]
	body = body[:strings.Index(body, "}")]
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`(--[a-z0-9-]+):\s*([^;]+);`).FindAllStringSubmatch(body, -1) {
		out[m[1]] = strings.TrimSpace(m[2])
	}
	return out
}

// TestDarkThemeBlocksMatch: the dark colours are written twice in app.css
// (for the system's preference and for the chosen theme; CSS has no way to
// share them), so the two must stay the same, and each must set every
// colour the light set does.
func TestDarkThemeBlocksMatch(t *testing.T) {
	b, err := os.ReadFile("static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	css := string(b)
	light := cssBlock(t, css, ":root {")
	system := cssBlock(t, css, `:root:not([data-theme="light"]) {`)
	chosen := cssBlock(t, css, `:root[data-theme="dark"] {`)
	if !maps.Equal(system, chosen) {
		t.Errorf("the two dark blocks differ:\nsystem %v\nchosen %v", system, chosen)
	}
	for name, value := range light {
		if strings.HasPrefix(value, "var(") || name == "--radius" || name == "--mono" {
			continue // an alias of another colour, or not a colour
		}
		if _, ok := chosen[name]; !ok {
			t.Errorf("%s (%s) has no dark value", name, value)
		}
	}
	if len(chosen) < 30 {
		t.Errorf("only %d dark colours: %v", len(chosen), slices.Sorted(maps.Keys(chosen)))
	}
}

// eval runs JavaScript in the page and returns its string result.
func (b *browser) eval(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("eval %s: %v", js, err)
	}
	return s
}

// The body text colours of the two schemes (--fg).
const (
	lightText = "rgb(31, 41, 55)"
	darkText  = "rgb(229, 231, 235)"
)

// wantTheme checks the <html> attribute the page has, its text colour, and
// what the server sent for it (the attribute in the HTML itself, so the
// first paint is right: no flash of the other theme).
func (b *browser) wantTheme(attr, color string) {
	b.t.Helper()
	if got := b.eval(`document.documentElement.getAttribute("data-theme") || ""`); got != attr {
		b.t.Errorf("%s: data-theme %q, want %q", b.path(), got, attr)
	}
	if got := b.eval(`getComputedStyle(document.body).color`); got != color {
		b.t.Errorf("%s: text colour %s, want %s", b.path(), got, color)
	}
	picked := attr
	if picked == "" {
		picked = "system"
	}
	if got := b.eval(`document.getElementById("theme-select").value`); got != picked {
		b.t.Errorf("%s: the picker shows %q with data-theme %q", b.path(), got, attr)
	}
	served := b.eval(`fetch(location.href).then(r => r.text()).then(s => (s.match(/<html[^>]*>/) || [""])[0])`)
	if want := `data-theme="` + attr + `"`; (attr != "") != strings.Contains(served, want) {
		b.t.Errorf("%s: the server sent %s with the theme %q", b.path(), served, attr)
	}
}

func (b *browser) pickTheme(theme string) {
	b.t.Helper()
	b.eval(`(() => { const s = document.getElementById("theme-select"); s.value = "` + theme +
		`"; s.dispatchEvent(new Event("change", {bubbles: true})); return ""; })()`)
}

// TestBrowserTheme: the dashboard follows the system's light or dark
// preference until a theme is picked; a picked theme holds whatever the
// system says, on every page and after a reload or sign-out (the server
// writes it on <html>), and "System" follows the system again.
func TestBrowserTheme(t *testing.T) {
	path := needChromium(t)
	n := apptest.New(t, backends(t)[0])
	n.CreateUser(t, "Acme Software", "ada@acme.test", core.RoleOwner)
	b := newBrowser(t, path, n)
	b.open("/login")
	b.fill("f-email", "ada@acme.test", "f-password", password)
	b.submit("sign-in")

	b.do(colorScheme("light"))
	b.open("/settings")
	b.wantTheme("", lightText)
	b.do(colorScheme("dark"))
	b.wantTheme("", darkText)

	// Light, picked under a dark system: light on every page from now on.
	b.pickTheme("light")
	b.wantTheme("light", lightText)
	b.open("/projects")
	b.wantTheme("light", lightText)

	// Dark, picked under a light system.
	b.do(colorScheme("light"))
	b.pickTheme("dark")
	b.wantTheme("dark", darkText)
	b.do(chromedp.Reload())
	b.wantTheme("dark", darkText)
	b.shot("dark-projects")
	b.submit("sign-out")
	b.wantPage("/login", "You have signed out.")
	b.wantTheme("dark", darkText)

	// System again: the cookie is gone and the system decides.
	b.pickTheme("system")
	b.wantTheme("", lightText)
	if c := b.eval(`document.cookie`); strings.Contains(c, "latchkey_theme") {
		t.Errorf("the theme cookie stayed: %q", c)
	}
	b.do(chromedp.Reload())
	b.do(colorScheme("dark"))
	b.wantTheme("", darkText)
}

// TestBrowserPhoneHeader: on a phone the header is a small bar whose Menu
// button opens and closes the navigation, and the skip link is the first
// thing the keyboard reaches, leading to the page's content.
func TestBrowserPhoneHeader(t *testing.T) {
	path := needChromium(t)
	n := apptest.New(t, backends(t)[0])
	n.CreateUser(t, "Acme Software", "ada@acme.test", core.RoleOwner)
	b := newBrowser(t, path, n)
	b.open("/login")
	b.fill("f-email", "ada@acme.test", "f-password", password)
	b.submit("sign-in")

	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	b.open("/projects") // a short page: the bar must not grow to fill the screen
	height := func() string {
		return b.eval(`String(Math.round(document.getElementById("sidebar").getBoundingClientRect().height))`)
	}
	navShown := func() string { return b.eval(`String(document.querySelector(".nav").offsetParent !== null)`) }
	if h, err := strconv.Atoi(height()); err != nil || h > 60 { // was 38 % of the screen, 320 px
		t.Fatalf("the phone header is %d px high (%v)", h, err)
	}
	if navShown() != "false" {
		t.Fatal("the navigation shows before Menu is pressed")
	}
	b.do(chromedp.Click(chromedp.ID("menu-button")))
	if navShown() != "true" || b.eval(`document.getElementById("menu-button").getAttribute("aria-expanded")`) != "true" {
		t.Fatal("Menu did not open the navigation")
	}
	b.do(chromedp.Click(chromedp.CSS(`.nav a[href="/audit"]`)))
	b.wantPage("/audit")
	if navShown() != "false" {
		t.Fatal("the next page opened with the menu open")
	}
	b.do(chromedp.Click(chromedp.ID("menu-button")), chromedp.Click(chromedp.ID("menu-button")))
	if navShown() != "false" {
		t.Fatal("Menu pressed again did not close the navigation")
	}
	b.shotScreen("phone-header")

	// The skip link: the first Tab reaches it, Enter moves to the content.
	b.do(chromedp.EmulateViewport(1280, 900))
	b.open("/settings")
	b.do(chromedp.KeyEvent("\t"))
	if got := b.eval(`document.activeElement.textContent`); got != "Skip to content" {
		t.Fatalf("the first Tab reached %q", got)
	}
	b.do(chromedp.KeyEvent("\r"))
	if got := b.eval(`document.activeElement.id`); got != "main" {
		t.Fatalf("the skip link moved the focus to %q", got)
	}
}
