package store

import (
	"context"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/core"
)

// CreateOrganization inserts o.
func (s *Store) CreateOrganization(ctx context.Context, o *core.Organization) error {
	now := s.clock()
	err := s.w().QueryRowContext(ctx,
		`INSERT INTO organizations (name, slug, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id`,
		o.Name, o.Slug, now).Scan(&o.ID)
	if err != nil {
		return s.conflict(err, "create organization", "An organization with this name already exists.")
	}
	o.CreatedAt, o.UpdatedAt = now, now
	return nil
}

const orgColumns = `id, name, slug, created_at, updated_at, plan_id, policy, license_defaults`

func scanOrg(row interface{ Scan(...any) error }) (*core.Organization, error) {
	var o core.Organization
	err := row.Scan(&o.ID, &o.Name, &o.Slug, utc{&o.CreatedAt}, utc{&o.UpdatedAt}, zeroInt{&o.PlanID},
		rulesScan{&o.Policy}, rulesScan{&o.LicenseDefaults})
	return &o, err
}

// Organization returns the organization with the given ID.
func (s *Store) Organization(ctx context.Context, id int64) (*core.Organization, error) {
	o, err := scanOrg(s.r().QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organizations WHERE id = $1`, id))
	return o, s.wrap(notFound(err, "Organization"), "organization")
}

// OrganizationByName returns the organization with the given name, matched
// case-insensitively.
func (s *Store) OrganizationByName(ctx context.Context, name string) (*core.Organization, error) {
	o, err := scanOrg(s.r().QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organizations WHERE lower(name) = lower($1)`, name))
	return o, s.wrap(notFound(err, "Organization"), "organization by name")
}

// OrganizationBySlug returns the organization with the given slug.
func (s *Store) OrganizationBySlug(ctx context.Context, slug string) (*core.Organization, error) {
	o, err := scanOrg(s.r().QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organizations WHERE slug = $1`, slug))
	return o, s.wrap(notFound(err, "Organization"), "organization by slug")
}

// CreateUser inserts u; the e-mail address is stored lower-case.
func (s *Store) CreateUser(ctx context.Context, u *core.User) error {
	now := s.clock()
	u.Email = strings.ToLower(u.Email)
	err := s.w().QueryRowContext(ctx,
		`INSERT INTO users (email, name, password_hash, disabled, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`,
		u.Email, u.Name, u.PasswordHash, u.Disabled, now).Scan(&u.ID)
	if err != nil {
		return s.conflict(err, "create user", "A user with this email already exists.")
	}
	u.CreatedAt, u.UpdatedAt = now, now
	return nil
}

const userColumns = `id, email, name, password_hash, disabled, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (*core.User, error) {
	var u core.User
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.Disabled, utc{&u.CreatedAt}, utc{&u.UpdatedAt})
	return &u, err
}

// User returns the user with the given ID.
func (s *Store) User(ctx context.Context, id int64) (*core.User, error) {
	u, err := scanUser(s.r().QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	return u, s.wrap(notFound(err, "User"), "user")
}

// UserByEmail returns the user with the given e-mail address.
func (s *Store) UserByEmail(ctx context.Context, email string) (*core.User, error) {
	u, err := scanUser(s.r().QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, strings.ToLower(email)))
	return u, s.wrap(notFound(err, "User"), "user by email")
}

// UpdateUser changes the fields of upd that are set.
func (s *Store) UpdateUser(ctx context.Context, id int64, upd core.UserUpdate) (*core.User, error) {
	var u *core.User
	err := s.inTx(ctx, func(q querier) error {
		var set setter
		if upd.Name != nil {
			set.add("name", *upd.Name)
		}
		if upd.PasswordHash != nil {
			set.add("password_hash", *upd.PasswordHash)
		}
		if upd.Disabled != nil {
			set.add("disabled", *upd.Disabled)
		}
		set.add("updated_at", s.clock())
		res, err := q.ExecContext(ctx, `UPDATE users SET `+set.clause()+` WHERE id = `+set.next(), append(set.args, id)...)
		if err != nil {
			return err
		}
		if err := affected(res, "User"); err != nil {
			return err
		}
		u, err = scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
		return err
	})
	return u, s.wrap(err, "update user")
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.r().QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, s.wrap(err, "count users")
}

// CreateMembership inserts m.
func (s *Store) CreateMembership(ctx context.Context, m *core.Membership) error {
	now := s.clock()
	_, err := s.w().ExecContext(ctx,
		`INSERT INTO memberships (org_id, user_id, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
		m.OrgID, m.UserID, string(m.Role), now)
	if err != nil {
		return s.conflict(err, "create membership", "The user is already a member of this organization.")
	}
	m.CreatedAt, m.UpdatedAt = now, now
	return nil
}

// Membership returns the user's membership in the organization.
func (s *Store) Membership(ctx context.Context, orgID, userID int64) (*core.Membership, error) {
	var m core.Membership
	var role string
	err := s.r().QueryRowContext(ctx,
		`SELECT org_id, user_id, role, created_at, updated_at FROM memberships WHERE org_id = $1 AND user_id = $2`,
		orgID, userID).Scan(&m.OrgID, &m.UserID, &role, utc{&m.CreatedAt}, utc{&m.UpdatedAt})
	m.Role = core.Role(role)
	return &m, s.wrap(notFound(err, "Membership"), "membership")
}

// UpdateMembershipRole changes a member's role.
func (s *Store) UpdateMembershipRole(ctx context.Context, orgID, userID int64, role core.Role) error {
	res, err := s.w().ExecContext(ctx,
		`UPDATE memberships SET role = $1, updated_at = $2 WHERE org_id = $3 AND user_id = $4`,
		string(role), s.clock(), orgID, userID)
	if err != nil {
		return s.wrap(err, "update membership")
	}
	return affected(res, "Membership")
}

// DeleteMembership removes a member from an organization.
func (s *Store) DeleteMembership(ctx context.Context, orgID, userID int64) error {
	res, err := s.w().ExecContext(ctx, `DELETE FROM memberships WHERE org_id = $1 AND user_id = $2`, orgID, userID)
	if err != nil {
		return s.wrap(err, "delete membership")
	}
	return affected(res, "Membership")
}

// ListMembers returns the organization's members, oldest first.
func (s *Store) ListMembers(ctx context.Context, orgID int64) ([]core.Member, error) {
	rows, err := s.r().QueryContext(ctx,
		`SELECT m.org_id, m.user_id, m.role, m.created_at, m.updated_at, u.email, u.name, u.disabled
		   FROM memberships m JOIN users u ON u.id = m.user_id
		  WHERE m.org_id = $1 ORDER BY m.created_at, m.user_id`, orgID)
	if err != nil {
		return nil, s.wrap(err, "list members")
	}
	defer rows.Close()
	var out []core.Member
	for rows.Next() {
		var m core.Member
		var role string
		if err := rows.Scan(&m.OrgID, &m.UserID, &role, utc{&m.CreatedAt}, utc{&m.UpdatedAt}, &m.Email, &m.Name, &m.Disabled); err != nil {
			return nil, s.wrap(err, "list members")
		}
		m.Role = core.Role(role)
		out = append(out, m)
	}
	return out, s.wrap(rows.Err(), "list members")
}

// ListUserOrganizations returns the user's memberships with organization
// names, oldest first.
func (s *Store) ListUserOrganizations(ctx context.Context, userID int64) ([]core.MemberOrg, error) {
	rows, err := s.r().QueryContext(ctx,
		`SELECT m.org_id, m.user_id, m.role, m.created_at, m.updated_at, o.name, o.slug
		   FROM memberships m JOIN organizations o ON o.id = m.org_id
		  WHERE m.user_id = $1 ORDER BY m.created_at, m.org_id`, userID)
	if err != nil {
		return nil, s.wrap(err, "list user organizations")
	}
	defer rows.Close()
	var out []core.MemberOrg
	for rows.Next() {
		var m core.MemberOrg
		var role string
		if err := rows.Scan(&m.OrgID, &m.UserID, &role, utc{&m.CreatedAt}, utc{&m.UpdatedAt}, &m.OrgName, &m.OrgSlug); err != nil {
			return nil, s.wrap(err, "list user organizations")
		}
		m.Role = core.Role(role)
		out = append(out, m)
	}
	return out, s.wrap(rows.Err(), "list user organizations")
}

// setter builds the SET clause of a partial update with numbered
// placeholders.
type setter struct {
	cols []string
	args []any
}

func (s *setter) add(col string, v any) {
	s.args = append(s.args, v)
	s.cols = append(s.cols, col+" = $"+strconv.Itoa(len(s.args)))
}

func (s *setter) clause() string { return strings.Join(s.cols, ", ") }

// next returns the placeholder after the SET arguments, for the WHERE clause.
func (s *setter) next() string { return "$" + strconv.Itoa(len(s.args)+1) }

// RenameOrganization changes an organization's name; its slug stays, so
// nothing that names the organization by slug changes.
func (s *Store) RenameOrganization(ctx context.Context, id int64, name string) (*core.Organization, error) {
	res, err := s.w().ExecContext(ctx, `UPDATE organizations SET name = $2, updated_at = $3 WHERE id = $1`, id, name, s.clock())
	if err != nil {
		return nil, s.conflict(err, "rename organization", "An organization with this name already exists.")
	}
	if err := affected(res, "Organization"); err != nil {
		return nil, err
	}
	return s.Organization(ctx, id)
}

// DeleteOrganization removes an organization and, through the schema's
// cascades, everything it holds: memberships, invitations, projects with
// their domains, licenses and injectables, API keys, webhook endpoints and
// sessions. A session of a member who belongs to another organization is
// moved to the oldest of those first, so that person stays signed in.
// Audit events and the event outbox keep their rows (they name the
// organization by ID only).
func (s *Store) DeleteOrganization(ctx context.Context, id int64) error {
	if _, err := s.w().ExecContext(ctx,
		`UPDATE sessions SET org_id = (
		        SELECT m.org_id FROM memberships m
		         WHERE m.user_id = sessions.user_id AND m.org_id <> $1
		         ORDER BY m.created_at, m.org_id LIMIT 1)
		  WHERE org_id = $1 AND EXISTS (
		        SELECT 1 FROM memberships m WHERE m.user_id = sessions.user_id AND m.org_id <> $1)`, id); err != nil {
		return s.wrap(err, "delete organization: move sessions")
	}
	res, err := s.w().ExecContext(ctx, `DELETE FROM organizations WHERE id = $1`, id)
	if err != nil {
		return s.wrap(err, "delete organization")
	}
	return affected(res, "Organization")
}
