package service

import (
	"context"
	"errors"
	"net/mail"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/latchkey/latchkey/internal/core"
)

// Password length limits. bcrypt reads at most 72 bytes, so longer
// passwords would be silently truncated: refuse them instead.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 72
)

// CreateUserInput is what creating a user needs.
type CreateUserInput struct {
	Email    string
	Name     string
	Password string
	OrgName  string // created when it does not exist
	Role     core.Role
}

// ValidEmail checks an e-mail address and returns it lower-cased.
func ValidEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", core.Invalid("email", "The email field is required.")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 || !strings.Contains(email[strings.LastIndexByte(email, '@'):], ".") {
		return "", core.Invalid("email", "The email field must be a valid email address.")
	}
	return strings.ToLower(email), nil
}

// publicMessage returns the message of a *core.Error, such as ValidEmail's,
// for a problem list.
func publicMessage(err error) string {
	if ce, ok := errors.AsType[*core.Error](err); ok {
		return ce.Message
	}
	return err.Error()
}

func validPassword(p core.Problems, password string) {
	switch {
	case password == "":
		p.Add("password", "The password field is required.")
	case utf8.RuneCountInString(password) < MinPasswordLen:
		p.Add("password", "The password field must be at least 8 characters.")
	case len(password) > MaxPasswordLen:
		p.Add("password", "The password field must not be greater than 72 bytes.")
	}
}

// ValidOrgName checks an organization name.
func validOrgName(p core.Problems, field, name string) {
	switch n := utf8.RuneCountInString(strings.TrimSpace(name)); {
	case n == 0:
		p.Add(field, "The organization name is required.")
	case n > 100:
		p.Add(field, "The organization name must not be greater than 100 characters.")
	}
}

// HashPassword returns the bcrypt hash of password.
func (s *Service) HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.passwordCost)
	return string(h), err
}

// CreateUser creates a user, the organization if it does not exist, and
// the membership, in one transaction. actor is nil for the first-run page
// and admin commands.
func (s *Service) CreateUser(ctx context.Context, actor *core.Actor, in CreateUserInput) (*core.User, *core.Organization, error) {
	p := core.Problems{}
	email, err := ValidEmail(in.Email)
	if err != nil {
		p.Add("email", publicMessage(err))
	}
	validPassword(p, in.Password)
	validOrgName(p, "org", in.OrgName)
	if in.Role == "" {
		in.Role = core.RoleOwner
	}
	if !in.Role.Valid() {
		p.Add("role", "The role must be one of owner, admin, developer, viewer.")
	}
	if utf8.RuneCountInString(in.Name) > 255 {
		p.Add("name", "The name field must not be greater than 255 characters.")
	}
	if err := p.Err(); err != nil {
		return nil, nil, err
	}
	hash, err := s.HashPassword(in.Password)
	if err != nil {
		return nil, nil, err
	}
	u := &core.User{Email: email, Name: strings.TrimSpace(in.Name), PasswordHash: hash}
	var org *core.Organization
	err = s.store.InTx(ctx, func(st core.Store) error {
		org, err = s.orgByNameOrCreate(ctx, st, strings.TrimSpace(in.OrgName))
		if err != nil {
			return err
		}
		if err := st.CreateUser(ctx, u); err != nil {
			if core.IsCode(err, core.EConflict) {
				return core.Invalid("email", "The email has already been taken.")
			}
			return err
		}
		if err := st.CreateMembership(ctx, &core.Membership{OrgID: org.ID, UserID: u.ID, Role: in.Role}); err != nil {
			return err
		}
		a := actor
		if a == nil {
			a = core.SystemActor(org.ID, "system")
		}
		e := a.Audit("user.create", "user", u.ID, 0, map[string]any{"email": u.Email, "role": in.Role, "organization": org.Name})
		e.OrgID = org.ID
		return audit(ctx, st, e)
	})
	if err != nil {
		return nil, nil, err
	}
	return u, org, nil
}

func (s *Service) orgByNameOrCreate(ctx context.Context, st core.Store, name string) (*core.Organization, error) {
	org, err := st.OrganizationByName(ctx, name)
	if err == nil || !core.IsCode(err, core.ENotFound) {
		return org, err
	}
	base := Slugify(name)
	if base == "" {
		base = "org"
	}
	slug := base
	for i := 2; ; i++ {
		_, err := st.OrganizationBySlug(ctx, slug)
		if core.IsCode(err, core.ENotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		slug = base + "-" + strconv.Itoa(i)
	}
	org = &core.Organization{Name: name, Slug: slug}
	return org, st.CreateOrganization(ctx, org)
}

// Slugify turns a name into a URL-safe slug: lower-case letters, digits and
// single dashes.
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
			dash = false
		case r == '_' || r == '-' || unicode.IsSpace(r) || unicode.IsPunct(r):
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// ResolveMembership finds the user by email and their membership in the
// named organization; with orgName empty, the user's only organization.
func (s *Service) ResolveMembership(ctx context.Context, email, orgName string) (*core.User, *core.Membership, error) {
	addr, err := ValidEmail(email)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.store.UserByEmail(ctx, addr)
	if core.IsCode(err, core.ENotFound) {
		return nil, nil, core.Errorf(core.ENotFound, "No user with email %s.", addr)
	}
	if err != nil {
		return nil, nil, err
	}
	if orgName == "" {
		orgs, err := s.store.ListUserOrganizations(ctx, u.ID)
		if err != nil {
			return nil, nil, err
		}
		switch len(orgs) {
		case 0:
			return nil, nil, core.Errorf(core.ENotFound, "User %s is not a member of any organization.", addr)
		case 1:
			m := orgs[0].Membership
			return u, &m, nil
		default:
			return nil, nil, core.Errorf(core.EInvalid, "User %s belongs to %d organizations: name one with --org.", addr, len(orgs))
		}
	}
	org, err := s.store.OrganizationByName(ctx, orgName)
	if core.IsCode(err, core.ENotFound) {
		return nil, nil, core.Errorf(core.ENotFound, "No organization named %q.", orgName)
	}
	if err != nil {
		return nil, nil, err
	}
	m, err := s.store.Membership(ctx, org.ID, u.ID)
	if core.IsCode(err, core.ENotFound) {
		return nil, nil, core.Errorf(core.ENotFound, "User %s is not a member of %q.", addr, org.Name)
	}
	return u, m, err
}

// JoinOrganization makes an existing user a member of the organization named
// orgName (created if it does not exist) with role: the operator's way to
// give one account access to a second organization, where CreateUser
// would refuse the taken email. actor is nil for admin commands.
func (s *Service) JoinOrganization(ctx context.Context, actor *core.Actor, email, orgName string, role core.Role) (*core.User, *core.Organization, error) {
	p := core.Problems{}
	addr, err := ValidEmail(email)
	if err != nil {
		p.Add("email", publicMessage(err))
	}
	validOrgName(p, "org", orgName)
	if role == "" {
		role = core.RoleOwner
	}
	if !role.Valid() {
		p.Add("role", "The role must be one of owner, admin, developer, viewer.")
	}
	if err := p.Err(); err != nil {
		return nil, nil, err
	}
	var u *core.User
	var org *core.Organization
	err = s.store.InTx(ctx, func(st core.Store) error {
		if u, err = st.UserByEmail(ctx, addr); err != nil {
			if core.IsCode(err, core.ENotFound) {
				return core.Invalid("email", "No user has this email: create it with admin create-user.")
			}
			return err
		}
		if org, err = s.orgByNameOrCreate(ctx, st, strings.TrimSpace(orgName)); err != nil {
			return err
		}
		if err := st.CreateMembership(ctx, &core.Membership{OrgID: org.ID, UserID: u.ID, Role: role}); err != nil {
			if core.IsCode(err, core.EConflict) {
				return core.Errorf(core.EConflict, "%s is already a member of %s.", u.Email, org.Name)
			}
			return err
		}
		a := actor
		if a == nil {
			a = core.SystemActor(org.ID, "system")
		}
		e := a.Audit("member.add", "user", u.ID, 0, map[string]any{"email": u.Email, "role": role, "organization": org.Name})
		e.OrgID = org.ID
		return audit(ctx, st, e)
	})
	if err != nil {
		return nil, nil, err
	}
	return u, org, nil
}
