package store

import (
	"context"
)

// Setting returns a stored setting.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.r().QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	return v, s.wrap(notFound(err, "Setting"), "setting")
}

// InitSetting stores value unless name exists and returns what is stored.
func (s *Store) InitSetting(ctx context.Context, name, value string) (string, error) {
	var v string
	err := s.inTx(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
			return err
		}
		return q.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	})
	return v, s.wrap(err, "init setting")
}
