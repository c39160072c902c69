package app

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/latchkey/latchkey/client"
)

// Named profiles: "latchkey login" saves a server URL and an API key under
// a name in the user's config file, so that the client commands need no
// environment. The file holds secrets: it is written 0600 in a 0700
// directory, and never printed.

// defaultProfile is the profile used when none is named.
const defaultProfile = "default"

// cliConfig is the config file.
type cliConfig struct {
	Profiles map[string]profile `json:"profiles"`
}

// profile is one saved server and key.
type profile struct {
	URL    string `json:"url"`
	APIKey string `json:"api_key"`
}

// configPath is $XDG_CONFIG_HOME/latchkey/config.json, else
// ~/.config/latchkey/config.json.
func (env Env) configPath() (string, error) {
	dir := env.Getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) { // the XDG spec ignores a relative value
		home := env.Getenv("HOME")
		if home == "" {
			return "", errors.New("no config directory: set XDG_CONFIG_HOME or HOME")
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "latchkey", "config.json"), nil
}

// loadConfig reads the config file; a missing file is an empty config.
func (env Env) loadConfig() (cliConfig, string, error) {
	cfg := cliConfig{Profiles: map[string]profile{}}
	path, err := env.configPath()
	if err != nil {
		return cfg, "", err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, path, nil
	}
	if err != nil {
		return cfg, path, err
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, path, fmt.Errorf("%s: %w", path, err)
	}
	if cfg.Profiles == nil {
		cfg.Profiles = map[string]profile{}
	}
	return cfg, path, nil
}

// save writes the config file whole, through a temporary file in the same
// directory so that a crash leaves the old file or the new one.
func (cfg cliConfig) save(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil { // MkdirAll leaves an existing directory as it is
		return err
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".config-*.json")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(f.Name()) }() // after the rename, there is nothing left to remove
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close() // the write failed already
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		_ = f.Close() // the write failed already
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// profileName is the profile the run asks for: --profile, else
// LATCHKEY_PROFILE; named says whether one was named at all.
func (env Env) profileName() (name string, named bool) {
	flag := ""
	if env.global != nil {
		flag = env.global.profile
	}
	if name = firstOf(flag, env.Getenv("LATCHKEY_PROFILE")); name != "" {
		return name, true
	}
	return defaultProfile, false
}

// profile returns the profile the run uses: the named one, which must
// exist, or the default one when there is one.
func (env Env) profile() (profile, error) {
	name, named := env.profileName()
	cfg, path, err := env.loadConfig()
	if err != nil {
		if !named {
			return profile{}, nil // no config directory and no profile asked for: flags and environment only
		}
		return profile{}, err
	}
	p, ok := cfg.Profiles[name]
	if !ok && named {
		return profile{}, authErr(fmt.Errorf("no profile %q in %s: run \"latchkey login --profile %s\"", name, path, name))
	}
	return p, nil
}

// sameURL says whether two server URLs name the same server, ignoring a
// trailing slash and the /api/v1 suffix.
func sameURL(a, b string) bool {
	norm := func(s string) string {
		s = strings.TrimRight(strings.TrimSpace(s), "/")
		return strings.TrimRight(strings.TrimSuffix(s, "/api/v1"), "/")
	}
	return norm(a) == norm(b)
}

func newLoginCmd(env Env) *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "login [--profile NAME] [--url URL]",
		Short: "Save a server URL and API key as a profile, after checking them",
		Long: `Save a server URL and an API key under a profile name (--profile, default "default") in
$XDG_CONFIG_HOME/latchkey/config.json (else ~/.config/latchkey/config.json), file mode 0600,
so that the client commands need neither flags nor environment. The key is read from standard
input: typed at a prompt that does not echo it, or piped (never a flag, which would land in the
shell history and the process list). It is checked against the server first: a key the server
refuses is not saved.

The client commands take the URL and key from --url and --api-key, then LATCHKEY_URL and
LATCHKEY_API_KEY (or LATCHKEY_API_KEY_FILE), then the profile (--profile, LATCHKEY_PROFILE, else
"default"), then ` + defaultURL + `. A profile's key is only sent to the profile's own URL.`,
		Example: `  latchkey login --url https://licenses.example.com
  latchkey login --profile prod --url https://licenses.example.com < key.txt
  printf '%s' "$KEY" | latchkey login --profile staging --url https://staging.example.com
  latchkey projects list --profile prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, _ := env.profileName()
			cfg, path, err := env.loadConfig()
			if err != nil {
				return err
			}
			old := cfg.Profiles[name]
			url = firstOf(url, env.Getenv("LATCHKEY_URL"), old.URL, defaultURL)
			key, err := readAPIKey(env, url)
			if err != nil {
				return err
			}
			cl, err := client.New(url, key, client.WithUserAgent(userAgent()), client.WithRetries(0))
			if err != nil {
				return usageErr(err)
			}
			// Listing projects proves the key: MISSING_SCOPE is a key the
			// server accepted that may not list projects; any other 401 or
			// 403 (INVALID_API_KEY, IP_NOT_ALLOWED) is a key that does not
			// work from here.
			_, err = take(cl.Projects.List(cmd.Context(), &client.ListOptions{PerPage: 1}), 1)
			var apiErr *client.Error
			switch {
			case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden && apiErr.Code == "MISSING_SCOPE":
				fmt.Fprintf(env.Stderr, "The key works but may not list projects: %s\n", apiErr.Message)
			case errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden):
				return fmt.Errorf("the server refused the key, nothing was saved: %w", err)
			case err != nil:
				return err
			}
			cfg.Profiles[name] = profile{URL: url, APIKey: key}
			if err := cfg.save(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged in to %s as profile %q (saved in %s)\n", url, name, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "server URL (default $LATCHKEY_URL, else the profile's, else "+defaultURL+")")
	return cmd
}

// maxKeyLen bounds what login reads from standard input.
const maxKeyLen = 4096

// readAPIKey reads the API key: at a prompt without echo on a terminal,
// else the first line of standard input.
func readAPIKey(env Env, url string) (string, error) {
	var key string
	if env.Terminal {
		fmt.Fprintf(env.Stderr, "API key for %s: ", url)
		if f, ok := env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(env.Stderr)
			if err != nil {
				return "", err
			}
			key = string(b)
		} else {
			key = firstLine(env.Stdin)
		}
	} else {
		key = firstLine(env.Stdin)
	}
	if key = strings.TrimSpace(key); key == "" {
		return "", usageErr(errors.New("no API key on standard input: type it at the prompt, or pipe it (latchkey login < key.txt)"))
	}
	return key, nil
}

// firstLine reads the first line of r, at most maxKeyLen bytes.
func firstLine(r io.Reader) string {
	if r == nil {
		return ""
	}
	line, _ := bufio.NewReader(io.LimitReader(r, maxKeyLen)).ReadString('\n') // a short read is an empty or partial key, refused or checked by the server
	return strings.TrimRight(line, "\r\n")
}

func newLogoutCmd(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [--profile NAME]",
		Short: "Remove a saved profile and its API key from the config file",
		Long: `Remove the profile (--profile, LATCHKEY_PROFILE, else "default") from the config file, with its
API key. The key itself stays valid on the server: revoke it with "latchkey keys revoke".`,
		Example: `  latchkey logout --profile prod`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, _ := env.profileName()
			cfg, path, err := env.loadConfig()
			if err != nil {
				return err
			}
			if _, ok := cfg.Profiles[name]; !ok {
				names := make([]string, 0, len(cfg.Profiles))
				for n := range cfg.Profiles {
					names = append(names, n)
				}
				sort.Strings(names)
				return fmt.Errorf("no profile %q in %s (profiles: %s)", name, path, strings.Join(append(names, "none")[:max(len(names), 1)], ", "))
			}
			delete(cfg.Profiles, name)
			if err := cfg.save(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed profile %q from %s\n", name, path)
			return nil
		},
	}
}
