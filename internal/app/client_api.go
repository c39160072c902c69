package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

// "latchkey api" sends one raw request, as "gh api" does: for the routes
// the client commands do not cover, and to see exactly what the server
// answers. It goes around the SDK on purpose (no retries, no envelope
// decoding), with the same URL, key and profile resolution.

func newAPICmd(env Env) *cobra.Command {
	var fields, rawFields, headers []string
	var input string
	var include bool
	cmd := &cobra.Command{
		Use:   "api METHOD PATH",
		Short: "Send a raw request to the API and print the answer",
		Long: `Send one request to the server and print the answer's body (JSON indented) on standard output,
whatever its status (redirects are followed). PATH is relative to the server URL when it starts with "/" (/api/v1/projects,
/healthz), else to /api/v1/ (projects). The API key is sent as X-API-KEY when one is set.

--field key=value (-F) adds a field whose value is typed: true, false, null and numbers as JSON,
@FILE the file's content as a string, anything else a string; --raw-field key=value (-f) always a
string. Fields go in the query string of GET, HEAD and DELETE, else in a JSON object body.
--input FILE (- for standard input) sends the file as the body instead. -H 'Name: value' adds a
header (repeatable; Idempotency-Key, Content-Type…); --include (-i) prints the status line and
headers first.

The exit status follows the answer: 0 for 2xx, 3 for 401 and 403, 4 for 404, 5 for 5xx and 429
(and when the server cannot be reached), 1 for any other status.` + connectionHelp,
		Example: `  latchkey api GET /api/v1/projects
  latchkey api GET projects -F per_page=5
  latchkey api POST /api/v1/project -f name='Pro Plugin' -F has_paid=true -H 'Idempotency-Key: 7d1c'
  latchkey api PATCH /api/v1/project/7 --input patch.json
  latchkey api GET /api/v1/errors -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usagef("give the method and the path: %s", cmd.UseLine())
			}
			return nil
		},
	}
	c := addConnFlags(cmd, env)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		method := strings.ToUpper(args[0])
		if method == "" || strings.ContainsAny(method, " /:") {
			return usagef("METHOD: %q is not an HTTP method such as GET or POST", args[0])
		}
		base, key, err := c.resolve(false)
		if err != nil {
			return err
		}
		target, err := apiURL(base, args[1])
		if err != nil {
			return err
		}
		values, err := apiFields(fields, rawFields)
		if err != nil {
			return err
		}
		var body []byte
		inQuery := method == http.MethodGet || method == http.MethodHead || method == http.MethodDelete
		switch {
		case input != "" && len(values) > 0 && !inQuery:
			return usagef("--input: give either --input or fields, not both")
		case input == "-":
			if body, err = io.ReadAll(env.Stdin); err != nil {
				return usagef("--input: %w", err)
			}
		case input != "":
			if body, err = os.ReadFile(input); err != nil {
				return usagef("--input: %w", err)
			}
		case len(values) > 0 && !inQuery:
			if body, err = json.Marshal(values); err != nil {
				return err
			}
		}
		if len(values) > 0 && inQuery {
			q := target.Query()
			for k, v := range values {
				q.Set(k, queryText(v))
			}
			target.RawQuery = q.Encode()
		}
		req, err := http.NewRequestWithContext(cmd.Context(), method, target.String(), bytes.NewReader(body))
		if err != nil {
			return usageErr(err)
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent())
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if key != "" {
			req.Header.Set("X-API-KEY", key)
		}
		for _, h := range headers {
			name, value, ok := strings.Cut(h, ":")
			if name = strings.TrimSpace(name); !ok || name == "" || strings.ContainsAny(name, " \t") {
				return usagef("-H: %q is not 'Name: value'", h)
			}
			req.Header.Set(name, strings.TrimSpace(value))
		}
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			return err // a *url.Error: exit 5
		}
		answer, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close() // read to the end: a close error loses nothing
		if err != nil {
			return fmt.Errorf("%s %s: read answer: %w", method, target, err)
		}
		w := cmd.OutOrStdout()
		if include {
			fmt.Fprintf(w, "%s %s\n", resp.Proto, resp.Status)
			names := make([]string, 0, len(resp.Header))
			for k := range resp.Header {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				for _, v := range resp.Header[k] {
					fmt.Fprintf(w, "%s: %s\n", k, v)
				}
			}
			fmt.Fprintln(w)
		}
		var pretty bytes.Buffer
		if json.Indent(&pretty, answer, "", "  ") == nil {
			pretty.WriteByte('\n')
			answer = pretty.Bytes()
		}
		if _, err := w.Write(answer); err != nil {
			return err
		}
		if resp.StatusCode >= 400 {
			return apiAnswerError(resp, answer)
		}
		return nil
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&fields, "field", "F", nil, "a typed field key=value: true, false, null, numbers, @FILE (repeatable)")
	fl.StringArrayVarP(&rawFields, "raw-field", "f", nil, "a string field key=value (repeatable)")
	fl.StringVar(&input, "input", "", "the request body: a file, or - for standard input")
	fl.StringArrayVarP(&headers, "header", "H", nil, "a request header 'Name: value' (repeatable)")
	fl.BoolVarP(&include, "include", "i", false, "print the status line and the headers before the body")
	return cmd
}

// apiURL resolves PATH against the server URL: from the server's root when
// it starts with "/", else under /api/v1/.
func apiURL(base, path string) (*url.URL, error) {
	if strings.Contains(path, "://") {
		return nil, usagef("PATH: %q is a URL; give the path (/api/v1/projects) and the server with --url", path)
	}
	root := strings.TrimRight(strings.TrimSpace(base), "/")
	root = strings.TrimRight(strings.TrimSuffix(root, "/api/v1"), "/")
	if !strings.HasPrefix(path, "/") {
		path = "/api/v1/" + path
	}
	u, err := url.Parse(root + path)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("%q is not an http(s) URL such as https://licenses.example.com", base)
	}
	return u, nil
}

// apiFields reads --field (typed) and --raw-field (strings).
func apiFields(typed, raw []string) (map[string]any, error) {
	out := map[string]any{}
	for _, f := range raw {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, usagef("--raw-field: %q is not key=value", f)
		}
		out[k] = v
	}
	for _, f := range typed {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, usagef("--field: %q is not key=value", f)
		}
		switch {
		case v == "true", v == "false":
			out[k] = v == "true"
		case v == "null":
			out[k] = nil
		case strings.HasPrefix(v, "@"):
			b, err := os.ReadFile(v[1:])
			if err != nil {
				return nil, usagef("--field %s: %w", k, err)
			}
			out[k] = string(b)
		default:
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				out[k] = n
			} else if x, err := strconv.ParseFloat(v, 64); err == nil && !strings.ContainsAny(v, "xXnN") { // not hex, Inf or NaN
				out[k] = x
			} else {
				out[k] = v
			}
		}
	}
	return out, nil
}

// queryText writes a field's value in a query string.
func queryText(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// apiAnswerError is the error of an answer that is not 2xx: the API's
// error envelope read as the SDK reads it, so that its exit code and JSON
// form are the client commands'.
func apiAnswerError(resp *http.Response, body []byte) error {
	var env struct {
		Message   string              `json:"message"`
		Code      string              `json:"code"`
		Errors    map[string][]string `json:"errors"`
		RequestID string              `json:"request_id"`
	}
	_ = json.Unmarshal(body, &env) // a body that is not the envelope leaves the status alone
	e := &client.Error{StatusCode: resp.StatusCode, Message: env.Message, Code: client.Code(env.Code), Fields: env.Errors, RequestID: env.RequestID}
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("X-Request-ID")
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}
