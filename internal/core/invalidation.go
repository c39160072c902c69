package core

// The one table of cache invalidation. Every cached record is stored with
// the changes that make it stale (see internal/cache); the functions below
// declare them, for every kind of record any cache holds. A write publishes
// its changes (service.write), every node hands them to every cache, and
// every entry tagged with one of them is stale from then on. ChangeAll makes
// everything stale.
//
//	cached record                      stale after
//	API-key record (+ owner's role)    ChangeAPIKey(key), ChangeUser(owner), ChangeMembership(org, owner), ChangeProject(bound project)
//	license snapshot (validation)      ChangeLicense(license), ChangeProject(project), ChangeDomain(project)
//	license (API and dashboard reads)  ChangeLicense(license), ChangeProject(project), ChangeDomain(project)
//	project (access checks)            ChangeProject(project)
//	injectables of a project           ChangeInjectable(project), ChangeProject(project)
//	rendered read under a project      ChangeCatalog(project), ChangeProject(project)
//	enabled webhook endpoints of an org ChangeWebhooks(organization)
//	the instance's signing keys         ChangeSigning (and a 30 s TTL: the admin command may write from another process)
//
// Unknown API keys and license keys are remembered without tags, for a
// short TTL only: no write can make a random key exist.

// APIKeyDeps lists what a cached API-key record depends on: the key, its
// owner, the owner's membership (role), and the project it is bound to.
func APIKeyDeps(k *APIKey) []Change {
	d := []Change{{Kind: ChangeAPIKey, ID: k.ID}, {Kind: ChangeUser, ID: k.UserID},
		{Kind: ChangeMembership, ID: k.OrgID, ID2: k.UserID}}
	if k.ProjectID != 0 {
		d = append(d, Change{Kind: ChangeProject, ID: k.ProjectID})
	}
	return d
}

// LicenseDeps lists what a cached license, or a validation snapshot of it,
// depends on: the license, its project, and the project's domains (a
// snapshot holds them; a deleted domain unpins licenses).
func LicenseDeps(l *License) []Change {
	return []Change{{Kind: ChangeLicense, ID: l.ID}, {Kind: ChangeProject, ID: l.ProjectID},
		{Kind: ChangeDomain, ID: l.ProjectID}}
}

// ProjectDeps lists what a cached project depends on.
func ProjectDeps(projectID int64) []Change {
	return []Change{{Kind: ChangeProject, ID: projectID}}
}

// InjectablesDeps lists what a project's cached injectables depend on.
func InjectablesDeps(projectID int64) []Change {
	return []Change{{Kind: ChangeInjectable, ID: projectID}, {Kind: ChangeProject, ID: projectID}}
}

// CatalogDeps lists what a cached read under a project depends on: any
// write under the project publishes ChangeCatalog.
func CatalogDeps(projectID int64) []Change {
	return []Change{{Kind: ChangeCatalog, ID: projectID}, {Kind: ChangeProject, ID: projectID}}
}

// WebhookDeps lists what an organization's cached webhook endpoints (the
// fan-out of its events) depend on.
func WebhookDeps(orgID int64) []Change {
	return []Change{{Kind: ChangeWebhooks, ID: orgID}}
}
