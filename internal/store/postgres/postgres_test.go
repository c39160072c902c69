package postgres_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	if os.Getenv(storetest.PostgresURLEnv) == "" {
		t.Skipf("%s is not set; .ci/run sets it", storetest.PostgresURLEnv)
	}
	storetest.Run(t, storetest.Backend{Name: "postgres", Open: storetest.OpenPostgres})
}

// TestDataExceptionIsInvalid: a value PostgreSQL refuses (SQLSTATE class
// 22) that the store's own text check does not catch is EInvalid, which
// callers such as the usage flush treat as "never retry", not an internal
// error.
func TestDataExceptionIsInvalid(t *testing.T) {
	if os.Getenv(storetest.PostgresURLEnv) == "" {
		t.Skipf("%s is not set; .ci/run sets it", storetest.PostgresURLEnv)
	}
	ctx := context.Background()
	st, _ := storetest.OpenPostgres(t, time.Now)
	o, _ := storetest.Fixture(t, st, "Acme", "a@example.com", core.RoleOwner)
	err := st.CreateProject(ctx, &core.Project{OrgID: o.ID, Name: "P", Slug: "p", Meta: json.RawMessage(`{"a":`), IsActive: true})
	if !core.IsCode(err, core.EInvalid) {
		t.Fatalf("malformed JSONB: %v, want EInvalid", err)
	}
}
