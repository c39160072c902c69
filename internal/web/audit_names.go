package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/core"
)

// auditRef is an audit event's actor or target as the dashboard shows it:
// a readable name, what kind of thing it is, and a link while the thing
// exists and the viewer may open it. Gone marks a target that was deleted
// since (the event keeps its number).
type auditRef struct {
	Name string
	Kind string
	Href string
	Gone bool
}

// auditRow is one audit event with its actor and target made readable.
type auditRow struct {
	core.AuditEvent
	Actor  auditRef
	Target auditRef
}

// auditNamer resolves the actors and targets of one page of events. Each
// distinct thing is looked up once, through the service (so a viewer
// without the scope to read it sees its number, not its name), and a page
// holds at most auditPerPage events: two lookups per event at worst.
type auditNamer struct {
	d       *dashboard
	r       *http.Request
	actor   *core.Actor
	seen    map[string]auditRef
	members map[int64]core.Member
	invited map[int64]string
}

func (d *dashboard) auditRows(r *http.Request, events []core.AuditEvent) []auditRow {
	n := &auditNamer{d: d, r: r, actor: actorOf(r), seen: map[string]auditRef{}}
	rows := make([]auditRow, len(events))
	for i, e := range events {
		rows[i] = auditRow{AuditEvent: e, Actor: n.actorRef(&e), Target: n.targetRef(&e)}
	}
	return rows
}

func (n *auditNamer) actorRef(e *core.AuditEvent) auditRef {
	switch e.ActorType {
	case core.ActorUser:
		ref := auditRef{Name: e.ActorLabel, Kind: "member"}
		if m, ok := n.member(e.ActorID); ok {
			ref.Href = "/team"
			if m.Name != "" {
				ref.Name = m.Name + " (" + m.Email + ")"
			}
		} else if e.ActorID != 0 {
			ref.Kind = "former member"
		}
		return ref
	case core.ActorAPIKey:
		ref := n.ref(core.ActorAPIKey, e.ActorID, 0)
		ref.Kind = "API key " + e.ActorLabel
		if ref.Gone || ref.Name == "" {
			ref.Name = e.ActorLabel
			ref.Kind = "API key"
		}
		return ref
	case core.ActorLicense:
		// A license's own request (checking out its file): the event's
		// target is that license.
		if e.TargetType == "license" && e.TargetID != 0 {
			ref := n.ref("license", e.TargetID, e.ProjectID)
			ref.Kind = "the license itself"
			return ref
		}
		return auditRef{Name: e.ActorLabel, Kind: "a license"}
	case core.ActorSystem:
		kind, ok := systemKinds[e.ActorLabel]
		if !ok {
			kind = e.ActorLabel
		}
		return auditRef{Name: "Latchkey", Kind: kind}
	}
	return auditRef{Name: e.ActorLabel, Kind: e.ActorType}
}

func (n *auditNamer) targetRef(e *core.AuditEvent) auditRef {
	if e.TargetID == 0 {
		// A bulk action (its details say which): the kind alone.
		if kind := targetKinds[e.TargetType]; kind != "" {
			return auditRef{Name: "several " + kind + "s"}
		}
		return auditRef{Name: strings.ReplaceAll(e.TargetType, "_", " ")}
	}
	return n.ref(e.TargetType, e.TargetID, e.ProjectID)
}

// systemKinds says which part of Latchkey acted, by the system actor's label.
var systemKinds = map[string]string{
	"admin-cli": "latchkey admin, on the server", "admin": "latchkey admin, on the server",
	"webhooks": "webhook delivery", "system": "the system", "": "the system",
}

// targetKinds names each target type the service writes as a reader would.
var targetKinds = map[string]string{
	"project": "project", "license": "license", "domain": "domain", "injectable": "injectable",
	"api_key": "API key", "user": "member", "organization": "organization", "invitation": "invitation",
	"webhook_endpoint": "webhook endpoint",
}

// ref looks up one thing by type and id, once per page. Only licenses,
// domains and injectables are read within their project.
func (n *auditNamer) ref(typ string, id, projectID int64) auditRef {
	if typ != "license" && typ != "domain" && typ != "injectable" {
		projectID = 0 // one lookup for a key that is both actor and target
	}
	key := typ + ":" + strconv.FormatInt(id, 10) + ":" + strconv.FormatInt(projectID, 10)
	if ref, ok := n.seen[key]; ok {
		return ref
	}
	kind := targetKinds[typ]
	if kind == "" {
		kind = strings.ReplaceAll(typ, "_", " ")
	}
	ref := auditRef{Name: kind + " #" + strconv.FormatInt(id, 10), Kind: kind}
	name, href, err := n.lookup(typ, id, projectID)
	switch {
	case err == nil && name != "":
		ref.Name, ref.Href = name, href
	case core.IsCode(err, core.ENotFound):
		ref.Gone = true
	}
	n.seen[key] = ref
	return ref
}

// lookup returns a thing's name and its dashboard page. An empty name with
// no error means the kind has no page of its own or the viewer may not
// read it.
func (n *auditNamer) lookup(typ string, id, projectID int64) (name, href string, err error) {
	ctx, svc, a := n.r.Context(), n.d.svc, n.actor
	num := strconv.FormatInt(id, 10)
	switch typ {
	case "project":
		p, err := svc.Project(ctx, a, id)
		if err != nil {
			return "", "", readable(err)
		}
		return p.Name, "/projects/" + num, nil
	case "license":
		l, err := svc.License(ctx, a, projectID, id)
		if err != nil {
			return "", "", readable(err)
		}
		return l.Title, licensePath(l), nil
	case "domain":
		dm, err := svc.Domain(ctx, a, projectID, id)
		if err != nil {
			return "", "", readable(err)
		}
		return dm.Domain, domainsPath(&core.Project{ID: dm.ProjectID}) + "/" + num + "/edit", nil
	case "injectable":
		in, err := svc.Injectable(ctx, a, projectID, id)
		if err != nil {
			return "", "", readable(err)
		}
		return in.Title, injectablesPath(&core.Project{ID: in.ProjectID}) + "/" + num + "/edit", nil
	case "api_key":
		k, err := svc.APIKey(ctx, a, id)
		if err != nil && !a.Role.ManagesOthersKeys() {
			return "", "", nil // another member's key is "not found" to them, deleted or not
		}
		if err != nil {
			return "", "", readable(err)
		}
		return k.Name, "/api-keys/" + num, nil
	case "webhook_endpoint":
		ep, err := svc.WebhookEndpoint(ctx, a, id)
		if err != nil {
			return "", "", readable(err)
		}
		return ep.URL, "/webhooks/" + num, nil
	case "user":
		if m, ok := n.member(id); ok {
			return m.Email, "/team", nil
		}
		return "", "", nil
	case "invitation":
		if email, ok := n.invitation(id); ok {
			return email, "/team", nil
		}
		return "", "", nil
	case "organization":
		if id == a.OrgID {
			if si := sessionOf(n.r); si != nil {
				return si.OrgName, "/settings", nil
			}
		}
	}
	return "", "", nil
}

// readable keeps "not found" (the thing was deleted) and drops every other
// error: a viewer without the scope, or a passing failure, sees the
// number instead of the name rather than an error page.
func readable(err error) error {
	if core.IsCode(err, core.ENotFound) {
		return err
	}
	return nil
}

func (n *auditNamer) member(id int64) (core.Member, bool) {
	if n.members == nil {
		n.members = map[int64]core.Member{}
		if ms, err := n.d.svc.ListMembers(n.r.Context(), n.actor); err == nil {
			for _, m := range ms {
				n.members[m.UserID] = m
			}
		}
	}
	m, ok := n.members[id]
	return m, ok
}

func (n *auditNamer) invitation(id int64) (string, bool) {
	if n.invited == nil {
		n.invited = map[int64]string{}
		if invs, err := n.d.svc.ListInvitations(n.r.Context(), n.actor); err == nil {
			for _, inv := range invs {
				n.invited[inv.ID] = inv.Email
			}
		}
	}
	email, ok := n.invited[id]
	return email, ok
}
