package sqlite_test

import (
	"testing"

	"github.com/latchkey/latchkey/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{Name: "sqlite", Open: storetest.OpenSQLite})
}
