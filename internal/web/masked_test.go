package web_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/service"
)

// TestOtherRecordsLookMissing checks that the dashboard masks the
// service's "belongs to someone else" refusals (another organization's
// project, another project's license or domain in the path) as the same
// 404 page as a record that does not exist, never a 403 that confirms it.
func TestOtherRecordsLookMissing(t *testing.T) {
	eachBackend(t, func(t *testing.T, n *apptest.Node) {
		ctx := context.Background()
		c, acc := owner(t, n, "Acme", "ada@acme.test")
		_, other := owner(t, n, "Beta", "bea@beta.test")
		mine, second := createProject(t, n, acc, "Mine"), createProject(t, n, acc, "Second")
		theirs := createProject(t, n, other, "Theirs")
		lic, err := n.Service().CreateLicense(ctx, acc.Actor(), second, service.LicenseInput{Title: service.Some("L")})
		if err != nil {
			t.Fatal(err)
		}
		dom, err := n.Service().CreateDomain(ctx, acc.Actor(), second, serviceDomain("second.example.com"))
		if err != nil {
			t.Fatal(err)
		}
		p, l, d := itoa(mine), itoa(lic.ID), itoa(dom.ID)
		for _, path := range []string{
			"/projects/" + itoa(theirs),                    // PROJECT_MISMATCH
			"/projects/" + itoa(theirs) + "/licenses",      // PROJECT_MISMATCH
			"/projects/" + p + "/licenses/" + l,            // LICENSE_NOT_IN_PROJECT
			"/projects/" + p + "/licenses/" + l + "/edit",  // LICENSE_NOT_IN_PROJECT
			"/projects/" + p + "/domains/" + d + "/edit",   // DOMAIN_NOT_IN_PROJECT
			"/projects/" + p + "/domains/" + d + "/delete", // DOMAIN_NOT_IN_PROJECT
		} {
			pg := c.get(path)
			wantStatus(t, pg, 404)
			wantNoText(t, pg, "Forbidden", "Theirs", "Second")
		}
	})
}
