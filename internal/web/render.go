package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// view is what every page template receives.
type view struct {
	Title   string
	Nav     string // the sidebar entry to highlight
	Session *service.SessionInfo
	CSRF    string
	Flash   *flash
	Form    *form
	// Project and Tab draw a project's tabs (overview, licenses…).
	Project *core.Project
	Tab     string
	Data    any
	// Theme is "light" or "dark" when the user chose one (theme.go), ""
	// to follow the system.
	Theme string
}

// Can reports whether the signed-in user's role allows scope, to show
// only the buttons that will work. The service decides either way.
func (v *view) Can(scope string) bool {
	return v.Session != nil && v.Session.Role.Scopes().HasScope(core.Scope(scope))
}

// Owner reports whether the signed-in user owns the organization.
func (v *view) Owner() bool { return v.Session != nil && v.Session.Role.ManagesMembers() }

// parseTemplates parses every page once, at startup, each with the layout
// and the shared partials (files starting with "_"). The templates are
// embedded, so a parse error is a build defect: it stops the start.
func parseTemplates(now func() time.Time) map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).Funcs(timeFuncs(now)).ParseFS(templateFS, "templates/_*.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if strings.HasPrefix(name, "_") {
			continue
		}
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, n))
	}
	return pages
}

// render executes a page into a buffer first, so that a template error
// becomes a clean error page rather than half a page.
func (d *dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) error {
	t, ok := d.pages[name]
	if !ok {
		return fmt.Errorf("web: no template %q", name)
	}
	if v.Session == nil {
		v.Session = sessionOf(r)
	}
	if v.Session != nil {
		v.CSRF = v.Session.Session.CSRFToken
	}
	if v.Flash == nil {
		v.Flash = d.takeFlash(w, r)
	}
	v.Theme = themeOf(r)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages show license keys and secrets: keep them out of caches.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// flash is a one-time message shown on the page after a redirect.
type flash struct {
	Kind    string // "ok" or "error"
	Message string
}

const flashCookie = "latchkey_flash"

// setFlash stores a message for the next page. It is plain text chosen by
// the server and escaped when shown, so a cookie is enough (and works
// across nodes, unlike memory).
func (d *dashboard) setFlash(w http.ResponseWriter, r *http.Request, kind, msg string) {
	d.setCookie(w, r, flashCookie, base64.RawURLEncoding.EncodeToString([]byte(kind+"\n"+msg)), time.Minute)
}

func (d *dashboard) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	d.setCookie(w, r, flashCookie, "", -1)
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil
	}
	kind, msg, ok := strings.Cut(string(b), "\n")
	if !ok || (kind != "ok" && kind != "error") || len(msg) > 500 {
		return nil
	}
	return &flash{Kind: kind, Message: msg}
}

// staticVersion maps each static file to a hash of its content, so that
// links carry ?v=hash and browsers may cache them for good. The files are
// embedded: computed once, never changed.
var staticVersion = staticVersions()

func staticVersions() map[string]string {
	out := map[string]string{}
	_ = fs.WalkDir(staticFS, "static", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:4])
		return nil
	})
	return out
}

func (d *dashboard) staticFiles() http.Handler {
	files := http.FileServerFS(staticFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		version, ok := staticVersion[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("v") == version {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}

var scopeDescriptions = map[core.Scope]string{
	core.ScopeProjectsRead:     "List and show projects",
	core.ScopeProjectsWrite:    "Create, update and delete projects",
	core.ScopeLicensesRead:     "List and show licenses",
	core.ScopeLicensesWrite:    "Create, update, suspend, revoke, reactivate and delete licenses",
	core.ScopeDomainsRead:      "List and show project domains",
	core.ScopeDomainsWrite:     "Add, change and remove project domains",
	core.ScopeInjectablesRead:  "List and show injectables",
	core.ScopeInjectablesWrite: "Upload, change and delete injectables",
	core.ScopePaymentsRead:     "Check payment status",
	core.ScopePaymentsWrite:    "Set has_paid on projects and domains",
	core.ScopeAPIKeysRead:      "List API keys and their usage",
	core.ScopeAPIKeysWrite:     "Create, rotate and revoke API keys",
	core.ScopeAuditRead:        "Read the audit log and usage figures",
	core.ScopeWebhooksRead:     "List webhook endpoints, their deliveries and events",
	core.ScopeWebhooksWrite:    "Add, change, test and delete webhook endpoints; rotate their secrets; retry deliveries",
}

var funcs = template.FuncMap{
	"static": func(name string) string { return "/static/" + name + "?v=" + staticVersion[name] },
	// date, datetime and seconds are timeFuncs (relative_time.go): they
	// need the dashboard's clock.
	// limit shows a nullable limit; null and 0 both mean unlimited.
	"limit": func(n *int64) string {
		if n == nil || *n == 0 {
			return "Unlimited"
		}
		return strconv.FormatInt(*n, 10)
	},
	"str": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	"join":      strings.Join,
	"chart":     newChart,
	"scopeDesc": func(s core.Scope) string { return scopeDescriptions[s] },
	"details": func(raw json.RawMessage) string {
		if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
			return ""
		}
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			return string(raw)
		}
		parts := make([]string, 0, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			b, _ := json.Marshal(m[k])
			parts = append(parts, k+"="+string(b))
		}
		s := strings.Join(parts, " ")
		if len(s) > 300 {
			s = s[:300] + "…"
		}
		return s
	},
	// excerpt shortens text to n characters (not bytes), marking the cut.
	"excerpt": func(s string, n int) string {
		if utf8.RuneCountInString(s) <= n {
			return s
		}
		return string([]rune(s)[:n]) + "…"
	},
}
