package core

// Test mode (issue 15): an sk_test_ key works on test licenses only, and
// only reads what test and live licenses share (projects, domains,
// injectables). The rule on licenses is the service's (licenseVisible);
// the rule on shared records is here, in Require, so that every write
// use case that asks for their scope refuses a test key the same way.

// ReasonTestModeReadOnly is the code of a test key's refused write to a
// project, domain or injectable.
const ReasonTestModeReadOnly = "TEST_MODE_READ_ONLY"

// License modes: the ?mode= of license lists (LicenseFilter.Mode).
const (
	ModeLive = "live"
	ModeTest = "test"
)

// sharedWrites are the scopes of records test and live licenses share.
var sharedWrites = map[Scope]bool{ScopeProjectsWrite: true, ScopeDomainsWrite: true, ScopeInjectablesWrite: true}

// ErrTestModeReadOnly is a test key's refused write to a shared record.
var ErrTestModeReadOnly = &Error{Code: EForbidden, Reason: ReasonTestModeReadOnly,
	Message: "Test API keys cannot change projects, domains or injectables: use a live key."}

// testModeGuard refuses a test actor the write scopes of shared records,
// whatever scopes its key holds.
func (a *Actor) testModeGuard(scope Scope) error {
	if a.TestMode && sharedWrites[scope] {
		return ErrTestModeReadOnly
	}
	return nil
}
