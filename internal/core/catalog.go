package core

import (
	"net/http"
	"sort"
	"strings"
)

// Reasons that no other package decides on, named here so that every code
// the API can send is a constant listed in the catalogue below.
const (
	// An API key that has been rotated may not mint or rotate keys.
	ReasonRotatedKey = "ROTATED_KEY"
	// A key's expiry cannot be moved once its successor exists.
	ReasonExpiryFinal = "EXPIRY_FINAL"
	// A member cannot be removed while their invitations are pending.
	ReasonInvitationsPending = "INVITATIONS_PENDING"
	// ReasonPolicyLimit is a refusal by the organization's own policy
	// (403), as PLAN_LIMIT is by its plan.
	ReasonPolicyLimit = "POLICY_LIMIT"
	// Idempotency keys (docs/idempotency.md): the same key sent with a
	// different request, and the same key while its first request is
	// still being handled.
	ReasonIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
	ReasonIdempotencyKeyInUse  = "IDEMPOTENCY_KEY_IN_USE"
	// ReasonAPIKeyDisabled is a key switched off for a while (issue 19):
	// refused as a revoked key is, until it is enabled again.
	ReasonAPIKeyDisabled = "API_KEY_DISABLED"
)

// CodeInfo is one entry of the error catalogue: a code the API sends in an
// error body's "code", the HTTP status it always comes with, what it means
// and what the caller should do.
type CodeInfo struct {
	Code    string
	Status  int
	Meaning string
	Action  string
	// Runtime marks a code that only runtime validation (a license check
	// by a customer's copy) sends; NOT_FOUND, RATE_LIMITED and the like
	// come from both.
	Runtime bool
}

// catalogue holds every error code. docs/errors.md is generated from it
// (a test keeps them equal), the OpenAPI document lists its codes as the
// ErrorCode enum, and the Go SDK has one constant per code; a test scans
// the server's sources so that no error is sent with a code missing here.
var catalogue = []CodeInfo{
	// The default code of each error kind (DefaultReason).
	{Code: "VALIDATION_ERROR", Status: http.StatusUnprocessableEntity,
		Meaning: "One or more fields failed validation. `errors` maps each field to its messages; `message` repeats the first.",
		Action:  "Correct the fields named in `errors` and send the request again."},
	{Code: "BAD_REQUEST", Status: http.StatusBadRequest,
		Meaning: "The request cannot be understood: malformed JSON, a path ID that is not a number, a bad cursor or header.",
		Action:  "Fix the request as the message says; repeating it unchanged fails the same way."},
	{Code: "UNAUTHENTICATED", Status: http.StatusUnauthorized,
		Meaning: "The request carries no credential where one is needed.",
		Action:  "Send an API key in `X-API-KEY` (or `Authorization: Bearer`)."},
	{Code: "FORBIDDEN", Status: http.StatusForbidden,
		Meaning: "The credential is valid but may not do this.",
		Action:  "Use a credential with the rights the message names."},
	{Code: "NOT_FOUND", Status: http.StatusNotFound,
		Meaning: "The record does not exist, or is not visible to this credential (another organization's records, live licenses to a test key). For runtime validation: no license has this key.",
		Action:  "Check the ID or key. A record another organization owns is reported as missing on purpose."},
	{Code: "CONFLICT", Status: http.StatusConflict,
		Meaning: "The record's state forbids the change (a duplicate name, a record still in use).",
		Action:  "Read the record again and resolve the conflict the message names."},
	{Code: "PAYLOAD_TOO_LARGE", Status: http.StatusRequestEntityTooLarge,
		Meaning: "The request body is larger than the server accepts (`--max-body-bytes`).",
		Action:  "Send a smaller body; split bulk work into several requests."},
	{Code: "RATE_LIMITED", Status: http.StatusTooManyRequests,
		Meaning: "Too many requests from this API key, license or address in the current minute.",
		Action:  "Wait for `Retry-After` seconds (the `X-RateLimit-*` headers show the budget) and retry."},
	{Code: "UNAVAILABLE", Status: http.StatusServiceUnavailable,
		Meaning: "The database is unreachable for a moment (a restart or failover). Nothing was changed.",
		Action:  "Retry after `Retry-After` seconds; every request is safe to repeat, and a POST is safe with an `Idempotency-Key`."},
	{Code: "INTERNAL", Status: http.StatusInternalServerError,
		Meaning: "The server failed. The cause is in its log under the response's `request_id`.",
		Action:  "Retry later; if it persists, report the `request_id` to the operator."},

	// Reasons of the management API.
	{Code: ReasonMissingAPIKey, Status: http.StatusUnauthorized,
		Meaning: "No API key was sent.",
		Action:  "Send the key in `X-API-KEY` (or `Authorization: Bearer`)."},
	{Code: ReasonInvalidAPIKey, Status: http.StatusForbidden,
		Meaning: "The API key is unknown, revoked or expired, or its owner lost the rights it needs.",
		Action:  "Use a current key; create or rotate one in the dashboard or with `latchkey keys`."},
	{Code: ReasonAPIKeyDisabled, Status: http.StatusForbidden,
		Meaning: "The API key is disabled for the time being; it works again once enabled.",
		Action:  "Enable the key (dashboard or `PATCH /api/v1/api-keys/{id}` with `\"enabled\": true`), or use another key."},
	{Code: ReasonIPNotAllowed, Status: http.StatusForbidden,
		Meaning: "The API key's IP allow-list (or, at runtime, the license's) does not include the caller's address.",
		Action:  "Call from an allowed address or widen the allow-list."},
	{Code: ReasonMissingScope, Status: http.StatusForbidden,
		Meaning: "The API key lacks the scope this operation needs; the message names it.",
		Action:  "Use a key with that scope, or create one that has it."},
	{Code: ReasonBeyondOwnRights, Status: http.StatusForbidden,
		Meaning: "The key or member would act beyond its own rights (grant scopes it lacks, revoke a key it could not create).",
		Action:  "Ask someone with the rights to do it."},
	{Code: ReasonScopeNotGrantable, Status: http.StatusForbidden,
		Meaning: "The requested scope cannot be given to this kind of key (a project key, a test key, a role).",
		Action:  "Drop the scope the message names."},
	{Code: ReasonOwnerRequired, Status: http.StatusForbidden,
		Meaning: "Only an owner of the organization (or the instance operator) may do this.",
		Action:  "Ask an owner."},
	{Code: ReasonGlobalKeyRequired, Status: http.StatusForbidden,
		Meaning: "The operation spans the organization, and a key limited to one project cannot do it.",
		Action:  "Use an organization-wide key."},
	{Code: ReasonProjectMismatch, Status: http.StatusForbidden,
		Meaning: "The record (or, at runtime, the license) belongs to another project than the one named, or the key is limited to another project.",
		Action:  "Use the record's own project, or a key of that project."},
	{Code: ReasonDomainNotInProject, Status: http.StatusForbidden,
		Meaning: "The domain belongs to another project than the one in the path.",
		Action:  "Use the domain's own project."},
	{Code: ReasonLicenseNotInProject, Status: http.StatusForbidden,
		Meaning: "The license belongs to another project than the one in the path.",
		Action:  "Use the license's own project."},
	{Code: ReasonInvalidState, Status: http.StatusForbidden,
		Meaning: "The license's state does not allow this transition (reactivating a revoked license, for example).",
		Action:  "Read the license's status; a revoked license cannot come back, create a new one."},
	{Code: ReasonExternalIDTaken, Status: http.StatusConflict,
		Meaning: "Another license of the project already has this external ID.",
		Action:  "Use that license, or another external ID."},
	{Code: ReasonTestModeReadOnly, Status: http.StatusForbidden,
		Meaning: "Test API keys cannot change projects, domains, injectables or live data.",
		Action:  "Use a live key for this change."},
	{Code: ReasonPlanLimit, Status: http.StatusForbidden,
		Meaning: "The organization's plan does not allow this (a cap reached, a switch off); the message names the limit.",
		Action:  "Delete something the cap counts, or ask the operator for another plan."},
	{Code: ReasonPolicyLimit, Status: http.StatusForbidden,
		Meaning: "The organization's own policy, set by its owners, does not allow this.",
		Action:  "Follow the policy the message names, or ask an owner to change it."},
	{Code: ReasonRotatedKey, Status: http.StatusForbidden,
		Meaning: "A key that has been rotated may not manage keys during its grace period.",
		Action:  "Use its successor."},
	{Code: ReasonExpiryFinal, Status: http.StatusConflict,
		Meaning: "The key's expiry is fixed: it was rotated, and its grace period is set.",
		Action:  "Change the successor instead."},
	{Code: ReasonInvitationsPending, Status: http.StatusConflict,
		Meaning: "The member still has pending invitations that would outlive them.",
		Action:  "Revoke their invitations first."},
	{Code: ReasonIdempotencyKeyReused, Status: http.StatusUnprocessableEntity,
		Meaning: "This `Idempotency-Key` was already used with a different request (method, path or body).",
		Action:  "Use a new key for a new request; reuse a key only to retry the identical request."},
	{Code: ReasonIdempotencyKeyInUse, Status: http.StatusConflict,
		Meaning: "A request with this `Idempotency-Key` is still being handled.",
		Action:  "Wait a moment and retry with the same key: the first request's answer is then replayed."},

	// Reasons of the dashboard's sign-in and forms; its JSON answers carry them too.
	{Code: ReasonNoSession, Status: http.StatusUnauthorized,
		Meaning: "The dashboard session is missing or ended.",
		Action:  "Sign in again."},
	{Code: ReasonInvalidCredentials, Status: http.StatusUnauthorized,
		Meaning: "The email or password is wrong.",
		Action:  "Check them; repeated failures are throttled."},
	{Code: ReasonAlreadySetUp, Status: http.StatusConflict,
		Meaning: "The instance already has its first user; /setup works once.",
		Action:  "Sign in, or have an owner invite you."},
	{Code: ReasonUserDisabled, Status: http.StatusForbidden,
		Meaning: "This account is disabled.",
		Action:  "Ask an owner of your organization or the operator."},
	{Code: ReasonNoOrganization, Status: http.StatusForbidden,
		Meaning: "The account belongs to no organization.",
		Action:  "Ask an owner to add you, or the operator to create one."},
	{Code: ReasonCSRF, Status: http.StatusForbidden,
		Meaning: "A dashboard form was sent without its token or from another origin.",
		Action:  "Reload the page and submit the form again."},

	// Refusals of runtime validation (docs/validation.md); VALID and UNPAID
	// are answers, not errors.
	{Code: "KEY_MISSING", Status: http.StatusUnauthorized, Runtime: true,
		Meaning: "No license key was sent.",
		Action:  "Send the key in `X-LICENSE-KEY` (or `license_key` in the body)."},
	{Code: "PROJECT_INACTIVE", Status: http.StatusForbidden, Runtime: true,
		Meaning: "The license's project is deactivated.",
		Action:  "The vendor must reactivate the project."},
	{Code: "REVOKED", Status: http.StatusForbidden, Runtime: true,
		Meaning: "The license has been revoked, for good.",
		Action:  "The copy must stop; the customer needs a new license."},
	{Code: "SUSPENDED", Status: http.StatusForbidden, Runtime: true,
		Meaning: "The license is suspended for now.",
		Action:  "The copy must stop until the vendor reactivates the license."},
	{Code: "EXPIRED", Status: http.StatusForbidden, Runtime: true,
		Meaning: "The license's expiry date has passed.",
		Action:  "The customer renews; the vendor extends or renews the license."},
	{Code: "DOMAIN_REQUIRED", Status: http.StatusBadRequest, Runtime: true,
		Meaning: "The license is bound to domains and the request named none.",
		Action:  "Send the domain the copy runs on (`X-DOMAIN` or `domain`)."},
	{Code: "DOMAIN_NOT_ALLOWED", Status: http.StatusForbidden, Runtime: true,
		Meaning: "The domain is not one of the project's or license's domains.",
		Action:  "Add the domain, or run the copy on an allowed one."},
	{Code: "TOO_MANY_DOMAINS", Status: http.StatusForbidden, Runtime: true,
		Meaning: "A new base domain would exceed the license's `max_domains` (distinct base domains, such as example.com and example.org).",
		Action:  "Remove an activation, or raise `max_domains`."},
	{Code: "TOO_MANY_SUBDOMAINS", Status: http.StatusForbidden, Runtime: true,
		Meaning: "A new subdomain would exceed the license's `max_subdomains_per_domain` under one base domain.",
		Action:  "Remove an activation under that domain, or raise `max_subdomains_per_domain`."},
	{Code: "TOO_MANY_ACTIVATIONS", Status: http.StatusForbidden, Runtime: true,
		Meaning: "The license has made as many new activations today as `max_new_activations_per_day` allows.",
		Action:  "Wait until tomorrow (UTC), remove a stale activation, or raise the limit."},
	{Code: "ENVIRONMENT_MISMATCH", Status: http.StatusForbidden, Runtime: true,
		Meaning: "A test license was used on a host that is not local, or a live license on a domain registered as development or staging.",
		Action:  "Use a test license on local hosts and a live one in production."},
	{Code: "COUNTRY_NOT_ALLOWED", Status: http.StatusForbidden, Runtime: true,
		Meaning: "The caller's country is not in the license's allowed countries.",
		Action:  "Run from an allowed country, or widen the list."},
	{Code: "USAGE_EXCEEDED", Status: http.StatusTooManyRequests, Runtime: true,
		Meaning: "The license's daily validations (`max_usage_per_day`) are used up.",
		Action:  "Wait until midnight UTC (`Retry-After`), or raise the cap."},
	{Code: "SEATS_EXHAUSTED", Status: http.StatusForbidden, Runtime: true,
		Meaning: "Every seat of the license is taken.",
		Action:  "Release a seat, or add seats to the license."},
}

var catalogueIndex = func() map[string]int {
	m := make(map[string]int, len(catalogue))
	for i, c := range catalogue {
		if _, dup := m[c.Code]; dup {
			panic("core: error code " + c.Code + " catalogued twice")
		}
		m[c.Code] = i
	}
	return m
}()

// Codes returns the catalogue, ordered by code.
func Codes() []CodeInfo {
	out := append([]CodeInfo(nil), catalogue...)
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// LookupCode returns the catalogue's entry for code.
func LookupCode(code string) (CodeInfo, bool) {
	i, ok := catalogueIndex[code]
	if !ok {
		return CodeInfo{}, false
	}
	return catalogue[i], true
}

// DocAnchor is the fragment of code's entry in the catalogue's pages:
// the code in lower case, which is also the anchor GitHub gives the
// heading "### CODE" in docs/errors.md.
func DocAnchor(code string) string { return strings.ToLower(code) }

// DocPath is where a node serves the catalogue as a page (the dashboard's
// /docs/errors); error bodies link to DocPath#DocAnchor(code).
const DocPath = "/docs/errors"
