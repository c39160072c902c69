// Command ogen drives a live Latchkey server through a client that ogen
// generated from the server's OpenAPI document (run.sh writes it to
// api/): create a project, issue a license in it, and validate the
// license as DevPayr's SDKs do. ogen's client also checks every answer
// against the document's schemas as it decodes it. It exits non-zero on
// the first step that fails.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/ogen-go/ogen/ogenerrors"

	"latchkey.test/acceptance/ogen/api"
)

func main() {
	if err := run(os.Getenv("LATCHKEY_URL"), os.Getenv("LATCHKEY_API_KEY")); err != nil {
		fmt.Fprintln(os.Stderr, "ogen client:", err)
		os.Exit(1)
	}
	fmt.Println("ogen client: project, license and validation OK")
}

// keySource authenticates with the X-API-KEY header and skips the
// document's other, alternative schemes.
type keySource struct{ key string }

func (s keySource) ApiKey(context.Context, api.OperationName) (api.ApiKey, error) {
	return api.ApiKey{APIKey: s.key}, nil
}

func (keySource) Bearer(context.Context, api.OperationName) (api.Bearer, error) {
	return api.Bearer{}, ogenerrors.ErrSkipClientSecurity
}

func (keySource) DevdraftPair(context.Context, api.OperationName) (api.DevdraftPair, error) {
	return api.DevdraftPair{}, ogenerrors.ErrSkipClientSecurity
}

func (keySource) SecretKey(context.Context, api.OperationName) (api.SecretKey, error) {
	return api.SecretKey{}, ogenerrors.ErrSkipClientSecurity
}

// LicenseKey is skipped: the program sends the license key as the
// X-LICENSE-KEY parameter of the call.
func (keySource) LicenseKey(context.Context, api.OperationName) (api.LicenseKey, error) {
	return api.LicenseKey{}, ogenerrors.ErrSkipClientSecurity
}

func run(base, key string) error {
	if base == "" || key == "" {
		return fmt.Errorf("set LATCHKEY_URL and LATCHKEY_API_KEY")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := api.NewClient(base+"/api/v1", keySource{key: key})
	if err != nil {
		return err
	}

	res, err := c.CreateProject(ctx, &api.ProjectCreate{Name: "ogen plugin", HasPaid: api.NewOptBool(true)},
		api.CreateProjectParams{IdempotencyKey: api.NewOptString(fmt.Sprintf("ogen-project-%d", time.Now().UnixNano()))})
	if err != nil {
		return fmt.Errorf("create project: %w", err)
	}
	created, ok := res.(*api.ProjectEnvelopeHeaders)
	if !ok {
		return fmt.Errorf("create project: answered %T %+v", res, res)
	}
	project := created.Response.Data
	if project.Name != "ogen plugin" || !project.HasPaid {
		return fmt.Errorf("create project: got %+v", project)
	}
	if _, ok := created.XRequestID.Get(); !ok {
		return fmt.Errorf("create project: no X-Request-ID")
	}

	lres, err := c.CreateLicense(ctx, &api.LicenseCreate{Title: "Customer A", MaxDomains: api.NewOptNilInt(3)},
		api.CreateLicenseParams{Project: project.ID})
	if err != nil {
		return fmt.Errorf("create license: %w", err)
	}
	issued, ok := lres.(*api.LicenseEnvelopeHeaders)
	if !ok {
		return fmt.Errorf("create license: answered %T %+v", lres, lres)
	}
	license := issued.Response.Data
	if license.Status != api.LicenseStatusActive || license.ProjectID != project.ID {
		return fmt.Errorf("create license: got status %q in project %d", license.Status, license.ProjectID)
	}

	vres, err := c.RuntimeHasPaid(ctx, api.OptRuntimeInput{}, api.RuntimeHasPaidParams{
		XLICENSEKEY:    api.NewOptString(license.UUID),
		XDevpayrDomain: api.NewOptString("shop.example.com"),
		Action:         api.NewOptString("check_project"),
	})
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	paid, ok := vres.(*api.HasPaidEnvelopeHeaders)
	if !ok {
		return fmt.Errorf("validate: answered %T %+v", vres, vres)
	}
	if !paid.Response.Data.HasPaid {
		return fmt.Errorf("validate: has_paid false")
	}
	return nil
}
