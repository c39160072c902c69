package postgres_test

import (
	"os"
	"testing"

	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	if os.Getenv(storetest.PostgresURLEnv) == "" {
		t.Skipf("%s is not set; .ci/run sets it", storetest.PostgresURLEnv)
	}
	storetest.Run(t, storetest.Backend{Name: "postgres", Open: storetest.OpenPostgres})
}
