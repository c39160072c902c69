package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// TestFilesArePrivate checks that the database and its -wal and -shm files
// are readable by the owner only, also when the data directory already
// exists with a wider mode (the directory's own 0700 then protects nothing).
func TestFilesArePrivate(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
	}{
		{name: "new file in an existing directory"},
		{name: "existing file created world-readable", prepare: func(t *testing.T, path string) {
			t.Helper()
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "latchkey.db")
			if tt.prepare != nil {
				tt.prepare(t, path)
			}
			ctx := context.Background()
			st, err := sqlite.Open(ctx, path, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() }) // the modes were checked; closing reports nothing new
			// Migrate writes, which creates the -wal and -shm files.
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != 0o600 {
					t.Errorf("%s: mode %v, want 0600", filepath.Base(p), got)
				}
			}
		})
	}
}
