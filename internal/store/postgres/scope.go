package postgres

import (
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
)

// scope separates the nodes of one installation from those of another in
// the same database: notification channels and pg_stat_activity are per
// database, not per schema. An installation in the default schema (the
// usual case) keeps the plain channel and application names, so nodes of
// different versions agree during a rolling upgrade; one whose URL sets
// another search_path (the test suite gives each test a schema) gets
// them suffixed with that schema.
type scope string

// scopeOf reads the scope from a database URL's search_path.
func scopeOf(url string) scope {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return ""
	}
	sp := strings.TrimSpace(cfg.RuntimeParams["search_path"])
	if sp == "" || sp == "public" || sp == `"$user", public` {
		return ""
	}
	var b strings.Builder
	for _, r := range strings.ToLower(sp) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		}
	}
	// A channel name is an identifier: at most 63 bytes with the prefix.
	const most = 63 - len(store.ChangeChannel) - 1
	return scope(b.String()[:min(b.Len(), most)])
}

// channel is the notification channel of the scope.
func (s scope) channel() string {
	if s == "" {
		return store.ChangeChannel
	}
	return store.ChangeChannel + "_" + string(s)
}

// suffix ends the listener's application_name in the scope.
func (s scope) suffix() string {
	if s == "" {
		return ""
	}
	return "@" + string(s)
}
