package service

import (
	"github.com/latchkey/latchkey/internal/core"
)

// Test mode (issue 15). An sk_test_ key (core.Actor.TestMode) works on
// test licenses only: a live license does not exist for it. The rule is
// here, once, and applied where licenses are reached:
//
//   - one license by ID: recordAccess (licenseRecord.hide) for every write
//     (update, delete, transitions, renew, activations, seats) and License
//     for every read (show, activations, seats, usage);
//   - many licenses: scopeLicenses narrows the filter of the per-project
//     and cross-project lists and of bulk actions, in the store's query;
//   - creation: forceTestLicense makes a test key's new license a test
//     license, whatever the body says; an update may not make it live.
//
// Projects, domains and injectables are shared by both modes and are
// read-only to a test key: core.Actor.Require refuses their write scopes
// (core.ErrTestModeReadOnly). Runtime validation does not look at the
// mode: a test license validates as a live one does.

// licenseVisible reports whether the actor may see l.
func licenseVisible(actor *core.Actor, l *core.License) bool {
	return !actor.TestMode || l.IsTestLicense
}

// hideLicense answers a live license to a test key as a missing one: the
// same 404 whatever the route, so that a test key cannot learn that a
// live license exists.
func hideLicense(actor *core.Actor, l *core.License) error {
	if licenseVisible(actor, l) {
		return nil
	}
	return core.NotFound("License")
}

// scopeLicenses narrows a license filter to what the actor may see. A
// test key asking for ?mode=live selects nothing: the filter narrows, it
// never widens.
func scopeLicenses(actor *core.Actor, f *core.LicenseFilter) {
	if !actor.TestMode {
		return
	}
	if f.Mode == core.ModeLive {
		f.IDs = []int64{}
	}
	f.Mode = core.ModeTest
}

// checkMode adds a problem unless mode is "", live or test.
func checkMode(p core.Problems, field, mode string) {
	switch mode {
	case "", core.ModeLive, core.ModeTest:
	default:
		p.Add(field, "The selected "+field+" is invalid: use live or test.")
	}
}

// forceTestLicense applies test mode to a license create or update,
// before the transaction: a test key's new license is a test license;
// an update by a test key may not make one live (422 on the field, so
// nothing is written).
func forceTestLicense(actor *core.Actor, in *LicenseInput, create bool, p core.Problems) {
	if !actor.TestMode {
		return
	}
	if create {
		in.IsTestLicense = Some(true)
		return
	}
	if in.IsTestLicense.Set && !in.IsTestLicense.V {
		p.Add("is_test_license", "The is test license field cannot be false with a test API key: use a live key to make a license live.")
	}
}

// errTestModeLiveKey refuses a test key minting a live key, new or as a
// rotation's successor: its secret would reach every live license.
var errTestModeLiveKey = &core.Error{Code: core.EForbidden, Reason: core.ReasonTestModeReadOnly,
	Message: "Test API keys can only create and rotate test keys: use a live key."}

// testModeKeyEnv returns the environment of a key created by actor: a
// test key's keys are test keys (the default when none is sent); asking
// for a live one is refused.
func testModeKeyEnv(actor *core.Actor, sent, env string) (string, error) {
	switch {
	case !actor.TestMode:
		return env, nil
	case sent == "":
		return core.EnvTest, nil
	case env == core.EnvLive:
		return "", errTestModeLiveKey
	}
	return env, nil
}
