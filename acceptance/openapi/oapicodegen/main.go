// Command oapicodegen drives a live Latchkey server through a client that
// oapi-codegen generated, with its default configuration, from the
// server's OpenAPI document (run.sh writes it to api/api.gen.go): create a
// project, issue a license in it, and validate the license as DevPayr's
// SDKs do. It exits non-zero on the first step that fails.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"latchkey.test/acceptance/oapicodegen/api"
)

func main() {
	if err := run(os.Getenv("LATCHKEY_URL"), os.Getenv("LATCHKEY_API_KEY")); err != nil {
		fmt.Fprintln(os.Stderr, "oapi-codegen client:", err)
		os.Exit(1)
	}
	fmt.Println("oapi-codegen client: project, license and validation OK")
}

func run(base, key string) error {
	if base == "" || key == "" {
		return fmt.Errorf("set LATCHKEY_URL and LATCHKEY_API_KEY")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	withKey := func(_ context.Context, r *http.Request) error {
		r.Header.Set("X-API-KEY", key)
		return nil
	}
	c, err := api.NewClientWithResponses(base+"/api/v1", api.WithRequestEditorFn(withKey))
	if err != nil {
		return err
	}

	paid := true
	idem := api.IdempotencyKeyParam(fmt.Sprintf("oapi-codegen-project-%d", time.Now().UnixNano()))
	p, err := c.CreateProjectWithResponse(ctx, &api.CreateProjectParams{IdempotencyKey: &idem},
		api.ProjectCreate{Name: "oapi-codegen plugin", HasPaid: &paid})
	if err != nil {
		return fmt.Errorf("create project: %w", err)
	}
	if p.JSON201 == nil {
		return fmt.Errorf("create project: status %d: %s", p.StatusCode(), p.Body)
	}
	project := p.JSON201.Data
	if project.Name != "oapi-codegen plugin" || !project.HasPaid {
		return fmt.Errorf("create project: got %+v", project)
	}

	maxDomains := 3
	l, err := c.CreateLicenseWithResponse(ctx, project.Id, &api.CreateLicenseParams{},
		api.LicenseCreate{Title: "Customer A", MaxDomains: &maxDomains})
	if err != nil {
		return fmt.Errorf("create license: %w", err)
	}
	if l.JSON201 == nil {
		return fmt.Errorf("create license: status %d: %s", l.StatusCode(), l.Body)
	}
	license := l.JSON201.Data
	if license.Status != api.LicenseStatusActive || license.ProjectId != project.Id {
		return fmt.Errorf("create license: got status %q in project %d", license.Status, license.ProjectId)
	}

	action := api.ActionParam("check_project")
	licenseKey := api.LicenseHeaderParam(license.Uuid)
	domain := api.DomainHeaderParam("shop.example.com")
	v, err := c.RuntimeHasPaidWithResponse(ctx, &api.RuntimeHasPaidParams{
		Action: &action, XLICENSEKEY: &licenseKey, XDevpayrDomain: &domain,
	}, api.RuntimeHasPaidJSONRequestBody{})
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	if v.JSON200 == nil {
		return fmt.Errorf("validate: status %d: %s", v.StatusCode(), v.Body)
	}
	if !v.JSON200.Data.HasPaid {
		return fmt.Errorf("validate: has_paid false: %s", v.Body)
	}
	return nil
}
