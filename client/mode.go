package client

// License modes, for LicenseFilter.Mode and BulkLicenseFilter.Mode: an
// sk_test_ key works on test licenses only (docs/api-keys.md "Test mode").
const (
	ModeLive = "live"
	ModeTest = "test"
)

// ErrorTestModeReadOnly is the Error.Code of an sk_test_ key's refused
// write to a project, domain or injectable (403). (Code* constants are
// runtime validation results.)
const ErrorTestModeReadOnly = "TEST_MODE_READ_ONLY"
