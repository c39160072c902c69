package client

// Code is an error code of the server's catalogue (docs/errors.md, and
// GET /api/v1/errors): the Code of an *Error. Compare it with the Error*
// constants below, one per entry of the catalogue; a test in the server's
// module (internal/sdktest) fails when they differ from it.
//
//	var apiErr *client.Error
//	if errors.As(err, &apiErr) && apiErr.Code == client.ErrorMissingScope { … }
//
// A server newer than the SDK may send a code with no constant here: treat
// an unknown code by its HTTP status (the sentinel errors).
//
// The runtime refusals (ErrorRevoked, ErrorSuspended…) are also the
// result codes of Validation.Code, which are strings: the untyped Code*
// constants (CodeValid, CodeRevoked…) serve both.
type Code string

// The error catalogue, constant by constant: the name is "Error" and the
// code in camel case, the comment the catalogue's meaning.
const (
	// Errors of the management API and the dashboard.

	// ErrorValidationError (422): One or more fields failed validation.
	// `errors` maps each field to its messages; `message` repeats the first.
	ErrorValidationError Code = "VALIDATION_ERROR"
	// ErrorBadRequest (400): The request cannot be understood: malformed
	// JSON, a path ID that is not a number, a bad cursor or header.
	ErrorBadRequest Code = "BAD_REQUEST"
	// ErrorUnauthenticated (401): The request carries no credential where
	// one is needed.
	ErrorUnauthenticated Code = "UNAUTHENTICATED"
	// ErrorForbidden (403): The credential is valid but may not do this.
	ErrorForbidden Code = "FORBIDDEN"
	// ErrorNotFound (404): The record does not exist, or is not visible to
	// this credential (another organization's records, live licenses to a
	// test key). For runtime validation: no license has this key.
	ErrorNotFound Code = "NOT_FOUND"
	// ErrorConflict (409): The record's state forbids the change (a
	// duplicate name, a record still in use).
	ErrorConflict Code = "CONFLICT"
	// ErrorPayloadTooLarge (413): The request body is larger than the server
	// accepts (`--max-body-bytes`).
	ErrorPayloadTooLarge Code = "PAYLOAD_TOO_LARGE"
	// ErrorRateLimited (429): Too many requests from this API key, license
	// or address in the current minute.
	ErrorRateLimited Code = "RATE_LIMITED"
	// ErrorUnavailable (503): The database is unreachable for a moment (a
	// restart or failover). Nothing was changed.
	ErrorUnavailable Code = "UNAVAILABLE"
	// ErrorInternal (500): The server failed. The cause is in its log under
	// the response's `request_id`.
	ErrorInternal Code = "INTERNAL"
	// ErrorMissingAPIKey (401): No API key was sent.
	ErrorMissingAPIKey Code = "MISSING_API_KEY"
	// ErrorInvalidAPIKey (403): The API key is unknown, revoked or expired,
	// or its owner lost the rights it needs.
	ErrorInvalidAPIKey Code = "INVALID_API_KEY"
	// ErrorAPIKeyDisabled (403): The API key is disabled for the time
	// being; it works again once enabled.
	ErrorAPIKeyDisabled Code = "API_KEY_DISABLED"
	// ErrorIPNotAllowed (403): The API key's IP allow-list (or, at runtime,
	// the license's) does not include the caller's address.
	ErrorIPNotAllowed Code = "IP_NOT_ALLOWED"
	// ErrorMissingScope (403): The API key lacks the scope this operation
	// needs; the message names it.
	ErrorMissingScope Code = "MISSING_SCOPE"
	// ErrorBeyondOwnRights (403): The key or member would act beyond its own
	// rights (grant scopes it lacks, revoke a key it could not create).
	ErrorBeyondOwnRights Code = "BEYOND_OWN_RIGHTS"
	// ErrorScopeNotGrantable (403): The requested scope cannot be given to
	// this kind of key (a project key, a test key, a role).
	ErrorScopeNotGrantable Code = "SCOPE_NOT_GRANTABLE"
	// ErrorOwnerRequired (403): Only an owner of the organization (or the
	// instance operator) may do this.
	ErrorOwnerRequired Code = "OWNER_REQUIRED"
	// ErrorGlobalKeyRequired (403): The operation spans the organization,
	// and a key limited to one project cannot do it.
	ErrorGlobalKeyRequired Code = "GLOBAL_KEY_REQUIRED"
	// ErrorProjectMismatch (403): The record (or, at runtime, the license)
	// belongs to another project than the one named, or the key is limited
	// to another project.
	ErrorProjectMismatch Code = "PROJECT_MISMATCH"
	// ErrorDomainNotInProject (403): The domain belongs to another project
	// than the one in the path.
	ErrorDomainNotInProject Code = "DOMAIN_NOT_IN_PROJECT"
	// ErrorLicenseNotInProject (403): The license belongs to another project
	// than the one in the path.
	ErrorLicenseNotInProject Code = "LICENSE_NOT_IN_PROJECT"
	// ErrorInvalidState (403): The license's state does not allow this
	// transition (reactivating a revoked license, for example).
	ErrorInvalidState Code = "INVALID_STATE"
	// ErrorExternalIDTaken (409): Another license of the project already has
	// this external ID.
	ErrorExternalIDTaken Code = "EXTERNAL_ID_TAKEN"
	// ErrorTestModeReadOnly (403): Test API keys cannot change projects,
	// domains, injectables or live data.
	ErrorTestModeReadOnly Code = "TEST_MODE_READ_ONLY"
	// ErrorPlanLimit (403): The organization's plan does not allow this (a
	// cap reached, a switch off); the message names the limit.
	ErrorPlanLimit Code = "PLAN_LIMIT"
	// ErrorPolicyLimit (403): The organization's own policy, set by its
	// owners, does not allow this.
	ErrorPolicyLimit Code = "POLICY_LIMIT"
	// ErrorRotatedKey (403): A key that has been rotated may not manage keys
	// during its grace period.
	ErrorRotatedKey Code = "ROTATED_KEY"
	// ErrorExpiryFinal (409): The key's expiry is fixed: it was rotated, and
	// its grace period is set.
	ErrorExpiryFinal Code = "EXPIRY_FINAL"
	// ErrorInvitationsPending (409): The member still has pending
	// invitations that would outlive them.
	ErrorInvitationsPending Code = "INVITATIONS_PENDING"
	// ErrorIdempotencyKeyReused (422): This `Idempotency-Key` was already
	// used with a different request (method, path or body).
	ErrorIdempotencyKeyReused Code = "IDEMPOTENCY_KEY_REUSED"
	// ErrorIdempotencyKeyInUse (409): A request with this `Idempotency-Key`
	// is still being handled.
	ErrorIdempotencyKeyInUse Code = "IDEMPOTENCY_KEY_IN_USE"
	// ErrorNoSession (401): The dashboard session is missing or ended.
	ErrorNoSession Code = "NO_SESSION"
	// ErrorInvalidCredentials (401): The email or password is wrong.
	ErrorInvalidCredentials Code = "INVALID_CREDENTIALS"
	// ErrorAlreadySetUp (409): The instance already has its first user;
	// /setup works once.
	ErrorAlreadySetUp Code = "ALREADY_SET_UP"
	// ErrorUserDisabled (403): This account is disabled.
	ErrorUserDisabled Code = "USER_DISABLED"
	// ErrorNoOrganization (403): The account belongs to no organization.
	ErrorNoOrganization Code = "NO_ORGANIZATION"
	// ErrorCSRF (403): A dashboard form was sent without its token or from
	// another origin.
	ErrorCSRF Code = "CSRF"

	// Refusals of runtime validation (with the license key).

	// ErrorKeyMissing (401): No license key was sent.
	ErrorKeyMissing Code = "KEY_MISSING"
	// ErrorProjectInactive (403): The license's project is deactivated.
	ErrorProjectInactive Code = "PROJECT_INACTIVE"
	// ErrorRevoked (403): The license has been revoked, for good.
	ErrorRevoked Code = "REVOKED"
	// ErrorSuspended (403): The license is suspended for now.
	ErrorSuspended Code = "SUSPENDED"
	// ErrorExpired (403): The license's expiry date has passed.
	ErrorExpired Code = "EXPIRED"
	// ErrorDomainRequired (400): The license is bound to domains and the
	// request named none.
	ErrorDomainRequired Code = "DOMAIN_REQUIRED"
	// ErrorDomainNotAllowed (403): The domain is not one of the project's or
	// license's domains.
	ErrorDomainNotAllowed Code = "DOMAIN_NOT_ALLOWED"
	// ErrorTooManyDomains (403): A new base domain would exceed the
	// license's `max_domains` (distinct base domains, such as example.com
	// and example.org).
	ErrorTooManyDomains Code = "TOO_MANY_DOMAINS"
	// ErrorTooManySubdomains (403): A new subdomain would exceed the
	// license's `max_subdomains_per_domain` under one base domain.
	ErrorTooManySubdomains Code = "TOO_MANY_SUBDOMAINS"
	// ErrorTooManyActivations (403): The license has made as many new
	// activations today as `max_new_activations_per_day` allows.
	ErrorTooManyActivations Code = "TOO_MANY_ACTIVATIONS"
	// ErrorEnvironmentMismatch (403): A test license was used on a host that
	// is not local, or a live license on a domain registered as development
	// or staging.
	ErrorEnvironmentMismatch Code = "ENVIRONMENT_MISMATCH"
	// ErrorCountryNotAllowed (403): The caller's country is not in the
	// license's allowed countries.
	ErrorCountryNotAllowed Code = "COUNTRY_NOT_ALLOWED"
	// ErrorUsageExceeded (429): The license's daily validations
	// (`max_usage_per_day`) are used up.
	ErrorUsageExceeded Code = "USAGE_EXCEEDED"
	// ErrorSeatsExhausted (403): Every seat of the license is taken.
	ErrorSeatsExhausted Code = "SEATS_EXHAUSTED"
)
