package web

import "net/http"

// themeCookie holds the theme a user picked in the dashboard: "light" or
// "dark"; without it (or with anything else) pages follow the system's
// prefers-color-scheme. app.js writes it (not HttpOnly: it is a display
// preference, not a secret) and the server writes the choice on <html>, so
// the first paint is already in the right theme: no inline script, no
// flash of the other theme.
const themeCookie = "latchkey_theme"

// themeOf returns the chosen theme, or "" for the system's.
func themeOf(r *http.Request) string {
	c, err := r.Cookie(themeCookie)
	if err != nil {
		return ""
	}
	switch c.Value {
	case "light", "dark":
		return c.Value
	}
	return ""
}
