package client

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// Activation is a runtime identifier (a domain, host:port or fingerprint)
// that used a license, with its latest sighting.
type Activation struct {
	ID          int64     `json:"id"`
	LicenseID   int64     `json:"license_id"`
	Identifier  string    `json:"identifier"`
	BaseDomain  string    `json:"base_domain"`
	FirstSeenAt time.Time `json:"first_seen_at"`
	LastSeenAt  time.Time `json:"last_seen_at"`
	// LastIP, Country and UserAgent are those of the latest sighting;
	// nil when unknown.
	LastIP    *string `json:"last_ip"`
	Country   *string `json:"country"`
	UserAgent *string `json:"user_agent"`
}

// ActivationService lists and removes a license's activations.
type ActivationService struct{ c *Client }

func activationsPath(projectID, licenseID int64) string {
	return licensesPath(projectID) + "/" + id(licenseID) + "/activations"
}

// List iterates over a license's activations, oldest first.
func (s *ActivationService) List(ctx context.Context, projectID, licenseID int64, lo *ListOptions, opts ...CallOption) iter.Seq2[Activation, error] {
	return list[Activation](ctx, s.c, activationsPath(projectID, licenseID), lo.query(), opts...)
}

// Delete removes an activation and returns it as it was. Its slot is free
// from the next validation on: that identifier counts as a new activation
// again (domain limits and the churn limit apply; the churn count of the
// day it was made is not given back).
func (s *ActivationService) Delete(ctx context.Context, projectID, licenseID, activationID int64, opts ...CallOption) (*Activation, error) {
	var a Activation
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodDelete, path: activationsPath(projectID, licenseID) + "/" + id(activationID)}, &a); err != nil {
		return nil, err
	}
	return &a, nil
}
