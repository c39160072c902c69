package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func parse(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	c := Defaults()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	c.AddStoreFlags(fs)
	c.AddServeFlags(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if err := ApplyEnv(fs, func(k string) string { return env[k] }, &c); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func TestFlagsWinOverEnvironment(t *testing.T) {
	c, err := parse(t, []string{"--addr", "127.0.0.1:9000"}, map[string]string{
		"LATCHKEY_ADDR": "0.0.0.0:1", "LATCHKEY_DATA_DIR": "/srv/lk", "LATCHKEY_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1",
		"LATCHKEY_CACHE_TTL": "30s", "LATCHKEY_SECRET_KEY": "s3cr3t",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.DataDir != "/srv/lk" || c.CacheTTL != 30*time.Second || c.SecretKey != "s3cr3t" {
		t.Fatalf("config = %+v", c)
	}
	ps, _ := c.Proxies()
	if len(ps) != 2 || ps[1].String() != "192.0.2.1/32" {
		t.Fatalf("proxies = %v", ps)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	_, err := parse(t, []string{"--log-format", "xml", "--rate-limit", "0", "--trusted-proxies", "nope"},
		map[string]string{"LATCHKEY_DATABASE_URL": "mysql://x", "LATCHKEY_LOG_LEVEL": "loud"})
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"--log-format", "--rate-limit", "--trusted-proxies", "--database-url (LATCHKEY_DATABASE_URL)", "--log-level"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not name %s", err, want)
		}
	}
	if _, err := parse(t, nil, map[string]string{"LATCHKEY_SHUTDOWN_TIMEOUT": "soon"}); err == nil || !strings.Contains(err.Error(), "LATCHKEY_SHUTDOWN_TIMEOUT") {
		t.Fatalf("bad env value: %v", err)
	}
}

func TestBackend(t *testing.T) {
	tests := []struct {
		url, kind, target string
		bad               bool
	}{
		{"", "sqlite", filepath.Join("data", "latchkey.db"), false},
		{"postgres://u@h/db", "postgres", "postgres://u@h/db", false},
		{"postgresql://u@h/db", "postgres", "postgresql://u@h/db", false},
		{"sqlite:/tmp/x.db", "sqlite", "/tmp/x.db", false},
		{"sqlite:///tmp/x.db", "sqlite", "/tmp/x.db", false},
		{"mysql://x", "", "", true},
	}
	for _, tc := range tests {
		c := Defaults()
		c.DataDir = "data"
		c.DatabaseURL = tc.url
		b, err := c.Backend()
		if (err != nil) != tc.bad || b.Kind != tc.kind || b.Target != tc.target {
			t.Fatalf("%q: %+v, %v", tc.url, b, err)
		}
	}
}

func TestDatabaseURLFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "url")
	if err := os.WriteFile(f, []byte("postgres://u:p@h/db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := parse(t, nil, map[string]string{"LATCHKEY_DATABASE_URL_FILE": f})
	if err != nil || c.DatabaseURL != "postgres://u:p@h/db" {
		t.Fatalf("url = %q, %v", c.DatabaseURL, err)
	}
}

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		value string
		want  int64
		err   string
	}{
		{"", 200 << 20, ""}, // the default
		{"1GiB", 1 << 30, ""},
		{"512MiB", 512 << 20, ""},
		{"65536KiB", 64 << 20, ""},
		{"104857600", 100 << 20, ""},
		{"0", 0, ""},
		{"1MiB", 0, "at least 32MiB"},
		{"lots", 0, `"lots" is not a size`},
		{"-5MiB", 0, "is not a size"},
		{"2TB", 0, "is not a size"},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			var args []string
			if tc.value != "" {
				args = []string{"--memory-limit", tc.value}
			}
			c, err := parse(t, args, nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), "--memory-limit") || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one naming --memory-limit and saying %q", err, tc.err)
				}
				return
			}
			if err != nil || c.MemoryLimitBytes != tc.want {
				t.Fatalf("limit %d, %v; want %d", c.MemoryLimitBytes, err, tc.want)
			}
		})
	}
}

func TestMaxKeyRateLimit(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int
		err  string
	}{
		{"default", nil, nil, 60000, ""},
		{"flag", []string{"--max-key-rate-limit", "9000"}, nil, 9000, ""},
		{"environment", nil, map[string]string{"LATCHKEY_MAX_KEY_RATE_LIMIT": "7000"}, 7000, ""},
		{"equal to the default", []string{"--rate-limit", "100", "--max-key-rate-limit", "100"}, nil, 100, ""},
		{"below the default", []string{"--rate-limit", "100", "--max-key-rate-limit", "99"}, nil, 0, "between --rate-limit (100)"},
		{"zero", []string{"--max-key-rate-limit", "0"}, nil, 0, "between --rate-limit"},
		{"above int32", []string{"--max-key-rate-limit", "2147483648"}, nil, 0, "and 2147483647"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse(t, tc.args, tc.env)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), "--max-key-rate-limit (LATCHKEY_MAX_KEY_RATE_LIMIT)") || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one naming --max-key-rate-limit and saying %q", err, tc.err)
				}
				return
			}
			if err != nil || c.MaxKeyRateLimit != tc.want {
				t.Fatalf("ceiling %d, %v; want %d", c.MaxKeyRateLimit, err, tc.want)
			}
		})
	}
}

func TestRedisURL(t *testing.T) {
	tests := []struct {
		url string
		err string
	}{
		{"redis://127.0.0.1:6379/0", ""},
		{"redis://:pw@cache.internal:6380", ""},
		{"rediss://user:pw@cache.example.com/3", ""},
		{"http://127.0.0.1:6379", "must start with redis:// or rediss://"},
		{"127.0.0.1:6379", "must start with redis:// or rediss://"},
		{"redis://", "names no host"},
		{"redis://:secret@h:6379/x", "invalid database number"},
		{"redis://h:6379/0?colour=blue", "unexpected option"},
		{"redis://:secret@h:notaport", "not a valid URL"},
	}
	for _, tc := range tests {
		_, err := parse(t, []string{"--redis-url", tc.url}, nil)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.url, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "--redis-url (LATCHKEY_REDIS_URL)")):
			t.Errorf("%q: error %v, want %q naming the flag", tc.url, err, tc.err)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("%q: the error repeats the password: %v", tc.url, err)
		}
	}
	f := filepath.Join(t.TempDir(), "redis")
	if err := os.WriteFile(f, []byte("rediss://:pw@h:6380/1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := parse(t, nil, map[string]string{"LATCHKEY_REDIS_URL_FILE": f})
	if err != nil || c.RedisURL != "rediss://:pw@h:6380/1" {
		t.Fatalf("from the file: %q, %v", c.RedisURL, err)
	}
	c, err = parse(t, nil, map[string]string{"LATCHKEY_REDIS_URL": "redis://h:1/0", "LATCHKEY_REDIS_URL_FILE": f})
	if err != nil || c.RedisURL != "redis://h:1/0" {
		t.Fatalf("the variable wins over the file: %q, %v", c.RedisURL, err)
	}
	if _, err := parse(t, []string{"--redis-key-prefix", ""}, nil); err == nil || !strings.Contains(err.Error(), "--redis-key-prefix") {
		t.Fatalf("empty prefix: %v", err)
	}
	for _, d := range []string{"0s", "11s"} {
		if _, err := parse(t, []string{"--redis-timeout", d}, nil); err == nil || !strings.Contains(err.Error(), "--redis-timeout") {
			t.Fatalf("timeout %s: %v", d, err)
		}
	}
}

func TestDatabasePoolFlags(t *testing.T) {
	c, err := parse(t, []string{"--db-max-conns", "8", "--db-min-conns", "0", "--db-statement-timeout", "0"}, nil)
	if err != nil || c.DBMaxConns != 8 || c.DBMinConns != 0 || c.DBStatementTimeout != 0 {
		t.Fatalf("flags: %+v, %v", c, err)
	}
	c, err = parse(t, nil, map[string]string{"LATCHKEY_DB_MAX_CONNS": "4", "LATCHKEY_DB_STATEMENT_TIMEOUT": "5s"})
	if err != nil || c.DBMaxConns != 4 || c.DBStatementTimeout != 5*time.Second {
		t.Fatalf("environment: %+v, %v", c, err)
	}
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--db-max-conns", "0"}, "--db-max-conns"},
		{[]string{"--db-max-conns", "10001"}, "--db-max-conns"},
		{[]string{"--db-min-conns", "-1"}, "--db-min-conns"},
		{[]string{"--db-max-conns", "4", "--db-min-conns", "5"}, "--db-min-conns"},
		{[]string{"--db-statement-timeout", "1us"}, "--db-statement-timeout"},
		{[]string{"--db-statement-timeout", "-1s"}, "--db-statement-timeout"},
		{[]string{"--db-statement-timeout", "25h"}, "--db-statement-timeout"},
	} {
		if _, err := parse(t, tc.args, nil); err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%v: %v", tc.args, err)
		}
	}
}
