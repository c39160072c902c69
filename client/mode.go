package client

// License modes, for LicenseFilter.Mode and BulkLicenseFilter.Mode: an
// sk_test_ key works on test licenses only (docs/api-keys.md "Test mode").
const (
	ModeLive = "live"
	ModeTest = "test"
)
