package service

import (
	"context"
	"encoding/json"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/licensing"
)

// MaxInjectableFile is the largest file an injectable may carry (DevPayr:
// 5 MB).
const MaxInjectableFile = 5 << 20

// Upload is a file sent with an injectable.
type Upload struct {
	Name string
	Data []byte
}

// InjectableInput holds the fields of an injectable create or update. The
// secret and the plaintext are used to encrypt and sign, then dropped.
type InjectableInput struct {
	// Problems holds what was wrong with the request's fields before they
	// reached the rules; reported after the access checks.
	Problems core.Problems

	Title            Opt[string]
	Slug             Opt[string]
	Type             Opt[string]
	Mode             Opt[string]
	TargetPath       Opt[string]
	ValidateEndpoint Opt[*string]
	Secret           Opt[string]
	Content          Opt[string]
	File             *Upload
	OnlyIfPaid       Opt[bool]
	IsActive         Opt[bool]
	Meta             Opt[json.RawMessage]
}

// ListInjectables returns a project's injectables, oldest first.
func (s *Service) ListInjectables(ctx context.Context, actor *core.Actor, projectID, afterID int64, limit int) ([]core.Injectable, error) {
	p, err := s.projectAccess(ctx, s.store, actor, projectID, core.ScopeInjectablesRead)
	if err != nil {
		return nil, err
	}
	return s.store.ListInjectables(ctx, core.InjectableFilter{ProjectID: p.ID, AfterID: afterID, Limit: limit})
}

// Injectable returns one injectable of a project.
func (s *Service) Injectable(ctx context.Context, actor *core.Actor, projectID, id int64) (*core.Injectable, error) {
	_, i, err := recordAccess(ctx, s, s.store, actor, projectID, core.ScopeInjectablesRead, injectableRecord, id, core.NotFound("Injectable"))
	return i, err
}

func validateInjectable(in *InjectableInput, cur *core.Injectable) core.Problems {
	p := core.Problems{}
	p.Merge(in.Problems)
	create := cur == nil
	typ := in.Type.V
	if !in.Type.Set && !create {
		typ = cur.Type
	}
	if in.Type.Set || create {
		switch {
		case in.Type.V == "":
			p.Add("type", "The type field is required.")
		case !slices.Contains(core.InjectableTypes, in.Type.V):
			p.Add("type", "The selected type is invalid: use one of "+strings.Join(core.InjectableTypes, ", ")+".")
		}
	}
	if in.Mode.Set || create {
		switch {
		case in.Mode.V == "":
			p.Add("mode", "The mode field is required.")
		case !slices.Contains(core.InjectableModes, in.Mode.V):
			p.Add("mode", "The selected mode is invalid: use one of "+strings.Join(core.InjectableModes, ", ")+".")
		}
	}
	if in.TargetPath.Set || create {
		in.TargetPath.V = strings.TrimSpace(in.TargetPath.V)
		if in.TargetPath.V == "" {
			p.Add("target_path", "The target path field is required.")
		}
		maxLen(p, "target_path", in.TargetPath.V, 1024)
	}
	if create && !in.OnlyIfPaid.Set {
		p.Add("only_if_paid", "The only if paid field is required.")
	}
	if create && !in.IsActive.Set {
		p.Add("is_active", "The is active field is required.")
	}
	if in.Title.Set {
		maxLen(p, "title", in.Title.V, 255)
	}
	if in.Slug.Set {
		validSlug(p, in.Slug.V)
	}
	validURL(p, "validate_endpoint", in.ValidateEndpoint.V)
	// What must come with what: a file for type=file, content otherwise,
	// and the secret whenever something is (re)encrypted.
	switchingToFile := typ == "file" && (create || cur.Type != "file")
	switchingFromFile := typ != "file" && !create && cur.Type == "file"
	contentChanges := in.Content.Set || in.File != nil
	if typ == "file" {
		if in.File == nil && switchingToFile {
			p.Add("file", "The file field is required when type is file.")
		}
		if in.Content.Set {
			p.Add("content", "Send a file, not content, when type is file.")
		}
	} else if typ != "" {
		if (create || switchingFromFile) && !in.Content.Set {
			p.Add("content", "The content field is required when type is not file.")
		}
		if in.File != nil {
			p.Add("file", "A file can only be sent when type is file.")
		}
	}
	if in.File != nil && len(in.File.Data) > MaxInjectableFile {
		p.Add("file", "The file field must not be greater than 5120 kilobytes.")
	}
	if create || contentChanges || switchingToFile {
		switch {
		case !in.Secret.Set || in.Secret.V == "":
			p.Add("secret", "The secret field is required when the content is set or changed.")
		case utf8.RuneCountInString(in.Secret.V) < 8:
			p.Add("secret", "The secret field must be at least 8 characters.")
		}
	} else if in.Secret.Set && utf8.RuneCountInString(in.Secret.V) < 8 {
		p.Add("secret", "The secret field must be at least 8 characters.")
	}
	return p
}

// seal encrypts and signs the plaintext with the secret, DevPayr's way.
func seal(secret string, plaintext []byte) (payload, signature, hash string, err error) {
	payload, err = licensing.EncryptInjectable(secret, plaintext)
	if err != nil {
		return "", "", "", err
	}
	return payload, licensing.SignInjectable(secret, payload), licensing.ContentHash(plaintext), nil
}

// plaintextOf returns what the input asks to encrypt, and the file name.
func plaintextOf(in *InjectableInput) ([]byte, *string, bool) {
	if in.File != nil {
		name := path.Base(strings.ReplaceAll(in.File.Name, `\`, "/"))
		if name == "." || name == "/" || name == "" {
			name = "file"
		}
		return in.File.Data, &name, true
	}
	if in.Content.Set {
		return []byte(in.Content.V), nil, true
	}
	return nil, nil, false
}

// CreateInjectable encrypts the content under the given secret and stores
// only the ciphertext, its signature and the plaintext's hash.
func (s *Service) CreateInjectable(ctx context.Context, actor *core.Actor, projectID int64, in InjectableInput) (*core.Injectable, error) {
	var out *core.Injectable
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		p, err := s.projectAccess(ctx, st, actor, projectID, core.ScopeInjectablesWrite)
		if err != nil {
			return err
		}
		if err := s.checkCap(ctx, st, p.OrgID, p.ID, core.CapInjectablesPerProject); err != nil {
			return err
		}
		if err := validateInjectable(&in, nil).Err(); err != nil {
			return err
		}
		plain, filePath, _ := plaintextOf(&in)
		payload, sig, hash, err := seal(in.Secret.V, plain)
		if err != nil {
			return err
		}
		i := &core.Injectable{ProjectID: p.ID, Title: strings.TrimSpace(in.Title.V), Slug: in.Slug.V, Type: in.Type.V, Mode: in.Mode.V,
			TargetPath: in.TargetPath.V, ValidateEndpoint: in.ValidateEndpoint.V, EncryptedContent: payload, FilePath: filePath,
			ContentHash: hash, Signature: sig, OnlyIfPaid: in.OnlyIfPaid.V, IsActive: in.IsActive.V, Meta: in.Meta.V, CreatedBy: actor.UserID}
		if !in.Slug.Set {
			base := Slugify(i.Title)
			if base == "" {
				base = i.Type
			}
			i.Slug = base + "-" + strings.ToLower(keys.RandomToken(6))
		}
		if err := st.CreateInjectable(ctx, i); err != nil {
			if core.IsCode(err, core.EConflict) {
				return core.Invalid("slug", "The slug has already been taken.")
			}
			return err
		}
		out = i
		changed(core.Change{Kind: core.ChangeInjectable, ID: p.ID})
		catalogChanged(changed, p.ID)
		if err := s.emitInjectable(ctx, st, p, EventInjectableCreated, nil, i); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("injectable.create", "injectable", i.ID, p.ID, map[string]any{
			"slug": i.Slug, "type": i.Type, "mode": i.Mode, "target_path": i.TargetPath, "content_hash": i.ContentHash}))
	})
	return out, err
}

// UpdateInjectable changes the fields that are set, re-encrypting when the
// content or file changes.
func (s *Service) UpdateInjectable(ctx context.Context, actor *core.Actor, projectID, id int64, in InjectableInput) (*core.Injectable, error) {
	var out *core.Injectable
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		p, cur, err := recordAccess(ctx, s, st, actor, projectID, core.ScopeInjectablesWrite, injectableRecord, id, core.NotFound("Injectable"))
		if err != nil {
			return err
		}
		if err := validateInjectable(&in, cur).Err(); err != nil {
			return err
		}
		upd := core.InjectableUpdate{}
		details := map[string]any{}
		for name, f := range map[string]struct {
			in  Opt[string]
			dst **string
		}{"title": {in.Title, &upd.Title}, "slug": {in.Slug, &upd.Slug}, "type": {in.Type, &upd.Type}, "mode": {in.Mode, &upd.Mode},
			"target_path": {in.TargetPath, &upd.TargetPath}} {
			if f.in.Set {
				v := f.in.V
				*f.dst, details[name] = &v, v
			}
		}
		if in.ValidateEndpoint.Set {
			upd.ValidateEndpoint = &in.ValidateEndpoint.V
		}
		if in.OnlyIfPaid.Set {
			upd.OnlyIfPaid, details["only_if_paid"] = &in.OnlyIfPaid.V, in.OnlyIfPaid.V
		}
		if in.IsActive.Set {
			upd.IsActive, details["is_active"] = &in.IsActive.V, in.IsActive.V
		}
		if in.Meta.Set {
			upd.Meta = &in.Meta.V
		}
		if plain, filePath, ok := plaintextOf(&in); ok {
			payload, sig, hash, err := seal(in.Secret.V, plain)
			if err != nil {
				return err
			}
			upd.EncryptedContent, upd.Signature, upd.ContentHash, upd.FilePath = &payload, &sig, &hash, &filePath
			details["content_hash"] = hash
		}
		out, err = st.UpdateInjectable(ctx, cur.ID, upd)
		if core.IsCode(err, core.EConflict) {
			return core.Invalid("slug", "The slug has already been taken.")
		}
		if err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeInjectable, ID: p.ID})
		catalogChanged(changed, p.ID)
		if err := s.emitInjectable(ctx, st, p, EventInjectableUpdated, cur, out); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("injectable.update", "injectable", cur.ID, p.ID, details))
	})
	return out, err
}

// DeleteInjectable removes an injectable.
func (s *Service) DeleteInjectable(ctx context.Context, actor *core.Actor, projectID, id int64) error {
	return s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		p, cur, err := recordAccess(ctx, s, st, actor, projectID, core.ScopeInjectablesWrite, injectableRecord, id, core.NotFound("Injectable"))
		if err != nil {
			return err
		}
		if err := st.DeleteInjectable(ctx, cur.ID); err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeInjectable, ID: p.ID})
		catalogChanged(changed, p.ID)
		if err := s.emitInjectable(ctx, st, p, EventInjectableDeleted, nil, cur); err != nil {
			return err
		}
		return audit(ctx, st, actor.Audit("injectable.delete", "injectable", cur.ID, p.ID, map[string]any{"slug": cur.Slug}))
	})
}

// PaymentStatus answers DevPayr's API-key payment check: the project's
// flag with checkProject, else the flag of the project domain named by
// identifier (400 when there is none, 403 when it is not registered).
// withInjectables says the caller wants the paid injectables too: that
// needs injectables:read as well, whether or not the answer is paid, so a
// payments-only key never gets content /injectables would refuse it.
func (s *Service) PaymentStatus(ctx context.Context, actor *core.Actor, projectID int64, identifier string, checkProject, withInjectables bool) (bool, *core.Project, error) {
	p, err := s.projectAccess(ctx, s.store, actor, projectID, core.ScopePaymentsRead)
	if err != nil {
		return false, nil, err
	}
	if withInjectables {
		if err := actor.Require(core.ScopeInjectablesRead); err != nil {
			return false, nil, err
		}
	}
	if checkProject {
		return p.HasPaid, p, nil
	}
	id := licensing.NormalizeIdentifier(identifier)
	if id == "" {
		return false, p, &core.Error{Code: core.EBadRequest, Reason: licensing.CodeDomainRequired, Message: licensing.Messages[licensing.CodeDomainRequired]}
	}
	domains, err := s.store.ListDomains(ctx, core.DomainFilter{ProjectID: p.ID, Limit: 100000})
	if err != nil {
		return false, p, err
	}
	d := licensing.MatchDomain(domains, id)
	if d == nil {
		return false, p, &core.Error{Code: core.EForbidden, Reason: licensing.CodeDomainNotAllowed,
			Message: "The domain is not registered under this project."}
	}
	if !d.IsActive {
		// Switched off: its flag answers for nothing, as at runtime.
		return false, p, &core.Error{Code: core.EForbidden, Reason: licensing.CodeDomainNotAllowed,
			Message: "The domain is not active under this project."}
	}
	return d.HasPaid, p, nil
}
