package store

import (
	"database/sql/driver"

	"github.com/latchkey/latchkey/internal/core"
)

// Text the database cannot store as sent is refused here, for every
// statement of both backends: PostgreSQL rejects a NUL byte or invalid
// UTF-8 in a text value (SQLSTATE 22021) and a "\u0000" escape in JSONB
// (22P05), which would surface as internal errors, while SQLite stores
// them as they are. The transports check their inputs first and name the
// field; this is the guarantee that nothing slips past them, with the same
// answer on both backends.

// badText stands in for a refused argument: database/sql and pgx call
// Value before anything is sent, so the statement fails with EInvalid and
// nothing of it runs. Going through a Valuer lets QueryRowContext, which
// cannot return an error itself, fail the same way.
type badText struct{}

func (badText) Value() (driver.Value, error) {
	return nil, core.Errorf(core.EInvalid, "A text value is not valid UTF-8 or contains a NUL byte.")
}

// cleanArgs returns args, or a copy in which the first unstorable string
// is replaced by badText. The common case (all clean) allocates nothing.
func cleanArgs(args []any) []any {
	for i, a := range args {
		if s, ok := a.(string); ok && !core.ValidText(s) {
			out := append([]any(nil), args...)
			out[i] = badText{}
			return out
		}
	}
	return args
}
