package web

import (
	"net/http"

	"github.com/latchkey/latchkey/internal/core"
)

// The organization's own settings (issue 19): an owner renames it from the
// settings page and deletes it behind a type-the-name confirmation.

// orgNameField is the settings form's field for the organization's name;
// the service calls it name, which on that page is the person's own name.
const orgNameField = "org_name"

var errOrgOwnersOnlyPage = &core.Error{Code: core.EForbidden, Reason: core.ReasonOwnerRequired,
	Message: "Only an owner of the organization can rename or delete it."}

func (d *dashboard) settingsOrganization(w http.ResponseWriter, r *http.Request) error {
	f := formOf(r)
	o, err := d.svc.RenameOrganization(r.Context(), actorOf(r), f.Get(orgNameField))
	if err != nil {
		status, err := f.refusedAs(err, r, map[string]string{"name": orgNameField})
		if err != nil {
			return err
		}
		return d.renderSettings(w, r, status, f)
	}
	d.setFlash(w, r, "ok", "Organization renamed to "+o.Name+".")
	return redirect(w, r, "/settings")
}

func orgDeleteConfirm(name string) confirmData {
	return confirmData{
		Heading: "Delete the organization " + name + "?",
		Body: "Everything it holds is deleted: its projects with their licenses, domains and injectables, its API keys, " +
			"webhook endpoints and pending invitations, and every member's access to it. Its API keys and licenses are " +
			"refused from the next request on. Members who belong to no other organization are signed out. This cannot be undone.",
		Action: "/settings/organization/delete", Button: "Delete organization", Cancel: "/settings", TypeName: name,
	}
}

func (d *dashboard) orgDeletePage(w http.ResponseWriter, r *http.Request) error {
	if !sessionOf(r).Role.ManagesMembers() {
		return errOrgOwnersOnlyPage
	}
	return d.renderConfirm(w, r, http.StatusOK, "Delete organization", "settings", nil, orgDeleteConfirm(sessionOf(r).OrgName))
}

// orgDelete deletes the organization once its name was typed. The store
// moves this session to the person's next organization when there is one;
// otherwise the session is gone and they land on the sign-in page.
func (d *dashboard) orgDelete(w http.ResponseWriter, r *http.Request) error {
	si := sessionOf(r)
	f := formOf(r)
	name := si.OrgName
	err := typedName(f, name, "organization")
	if err == nil {
		err = d.svc.DeleteOrganization(r.Context(), actorOf(r))
	}
	if err != nil && !core.IsCode(err, core.EInvalid) {
		return err // refused (a viewer's post): an error page
	}
	if err != nil {
		status, err := f.refused(err, r)
		if err != nil {
			return err
		}
		return d.renderConfirm(w, r, status, "Delete organization", "settings", f, orgDeleteConfirm(name))
	}
	msg := "Organization " + name + " deleted."
	if len(si.Orgs) <= 1 {
		d.setCookie(w, r, sessionCookie, "", -1)
		d.setFlash(w, r, "ok", msg+" Your account belongs to no other organization, so you were signed out.")
		return redirect(w, r, "/login")
	}
	d.setFlash(w, r, "ok", msg)
	return redirect(w, r, "/projects")
}
