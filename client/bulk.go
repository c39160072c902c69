package client

import (
	"context"
	"net/http"
	"time"
)

// Bulk license actions (LicenseService.Bulk).
const (
	BulkSuspend     = "suspend"
	BulkReactivate  = "reactivate"
	BulkRevoke      = "revoke"
	BulkExtend      = "extend"
	BulkSetMetadata = "set_metadata"
)

// BulkLicenseFilter selects licenses for a bulk action. Every field set
// narrows the selection; the zero value selects every license of the
// project.
type BulkLicenseFilter struct {
	Status string `json:"status,omitempty"`
	// Search matches titles (a substring).
	Search string `json:"search,omitempty"`
	// Q matches the title, customer name or email, or external ID (a
	// substring), or is a pasted license key.
	Q             string            `json:"q,omitempty"`
	ExternalID    string            `json:"external_id,omitempty"`
	CustomerEmail string            `json:"customer_email,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	// IDs, when not nil, keeps only these licenses (an empty list: none).
	IDs []int64 `json:"ids,omitempty"`
	// Mode is ModeLive or ModeTest (docs/api-keys.md "Test mode").
	Mode string `json:"mode,omitempty"`
}

// BulkLicenses is a bulk action on the licenses a filter selects.
type BulkLicenses struct {
	Filter BulkLicenseFilter `json:"filter"`
	// Action is one of BulkSuspend, BulkReactivate, BulkRevoke,
	// BulkExtend and BulkSetMetadata.
	Action string `json:"action"`
	// DryRun counts and samples the licenses, changing nothing.
	DryRun bool `json:"dry_run"`
	// Duration and From are BulkExtend's: "30d", "12h", "1y" or seconds;
	// From "expiry" (the default) or "now".
	Duration string `json:"duration,omitempty"`
	From     string `json:"from,omitempty"`
	// Metadata is BulkSetMetadata's merge patch: a nil value removes its
	// key.
	Metadata map[string]*string `json:"metadata,omitempty"`
}

// BulkLicenseResult is what a bulk action selected (dry run) or changed.
type BulkLicenseResult struct {
	Action string `json:"action"`
	DryRun bool   `json:"dry_run"`
	Count  int64  `json:"count"`
	// Sample holds the first 20 licenses, newest first.
	Sample []License `json:"sample"`
}

// Bulk runs a bulk action on the project's licenses a filter selects: at
// most 10,000 in one transaction (more is refused with the count).
func (s *LicenseService) Bulk(ctx context.Context, projectID int64, in BulkLicenses, opts ...CallOption) (*BulkLicenseResult, error) {
	var out BulkLicenseResult
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodPost, path: licensesPath(projectID) + "/bulk", body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// BulkAPIKeyFilter selects API keys for a bulk revocation. Every field set
// narrows the selection.
type BulkAPIKeyFilter struct {
	// OwnerID or OwnerEmail (not both) names the keys' owner.
	OwnerID    int64  `json:"owner_id,omitempty"`
	OwnerEmail string `json:"owner_email,omitempty"`
	ProjectID  int64  `json:"project_id,omitempty"`
	// NamePrefix matches the start of the key's name, case-insensitively.
	NamePrefix string `json:"name_prefix,omitempty"`
	// LastUsedBefore selects keys not used since; never-used keys too.
	LastUsedBefore *time.Time `json:"last_used_before,omitempty"`
	Env            string     `json:"env,omitempty"`
}

// BulkAPIKeys is a bulk revocation of API keys.
type BulkAPIKeys struct {
	Filter BulkAPIKeyFilter `json:"filter"`
	DryRun bool             `json:"dry_run"`
}

// BulkAPIKeyResult is what a bulk revocation selected (dry run) or revoked.
type BulkAPIKeyResult struct {
	Action string   `json:"action"`
	DryRun bool     `json:"dry_run"`
	Count  int64    `json:"count"`
	Sample []APIKey `json:"sample"`
}

// Bulk revokes the API keys a filter selects among those the caller may
// see; never the calling key.
func (s *APIKeyService) Bulk(ctx context.Context, in BulkAPIKeys, opts ...CallOption) (*BulkAPIKeyResult, error) {
	body := struct {
		BulkAPIKeys
		Action string `json:"action"`
	}{in, "revoke"}
	var out BulkAPIKeyResult
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodPost, path: "api-keys/bulk", body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
