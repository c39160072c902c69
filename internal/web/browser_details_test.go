package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
)

// TestBrowserProjectDeleteTypedName deletes a project in Chromium through
// its type-the-name confirmation: a wrong name is refused under the field
// (the project stays), the right one deletes it.
func TestBrowserProjectDeleteTypedName(t *testing.T) {
	path := needChromium(t)
	n := apptest.New(t, backends(t)[0])
	acc := n.CreateUser(t, "Acme Software", "ada@acme.test", core.RoleOwner)
	pid := createProject(t, n, acc, "Pro Plugin")
	b := newBrowser(t, path, n)

	b.open("/login")
	b.fill("f-email", "ada@acme.test", "f-password", password)
	b.submit("sign-in")
	b.wantPage("/projects", "Pro Plugin")

	b.open("/projects/" + itoa(pid) + "/delete")
	b.wantPage("/projects/"+itoa(pid)+"/delete", "Delete the project Pro Plugin?", "Type Pro Plugin to confirm")
	b.fill("f-confirm_name", "Pro Plugn")
	if status := b.submit("confirm"); status != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong name: %d", status)
	}
	if got := b.text("#e-confirm_name"); got != "Type the project's name, Pro Plugin, exactly to confirm." {
		t.Fatalf("message %q", got)
	}
	if _, err := n.Store.Project(context.Background(), pid); err != nil {
		t.Fatalf("the project after a wrong name: %v", err)
	}
	b.shot("project-delete")
	b.fill("f-confirm_name", "Pro Plugin")
	b.submit("confirm")
	b.wantPage("/projects", "Project Pro Plugin deleted.")
	if _, err := n.Store.Project(context.Background(), pid); !core.IsCode(err, core.ENotFound) {
		t.Fatalf("the project after the confirmed delete: %v", err)
	}
}
