package web

import (
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/latchkey/latchkey/internal/core"
)

// The service names fields as the API does (allowed_ips), and its messages
// say them the Laravel way ("The allowed ips field must be …"): those
// messages are DevPayr's and stay as they are on the API. The dashboard
// shows the same messages with each field called by its form's label
// ("The Allowed IPs field must be …"), here, once, for every page's field
// errors and its summary. TestEveryFormFieldHasALabel walks every form
// template and the service's sources, so a new field cannot be forgotten.

// fieldLabels maps a field, as the service names it, to its label in the
// dashboard's forms.
var fieldLabels = map[string]string{
	"require_second_factor":       "Require a second factor",
	"password_confirm":            "Confirm password",
	"_reauth_password":            "Password",
	"_reauth_code":                "Code",
	"scope":                       "Scope",
	"id":                          "License",
	"expiry":                      "Expiry",
	"owner":                       "Owner",
	"range":                       "Range",
	"code":                        "Code",
	"action":                      "Action",
	"actor_type":                  "Actor",
	"allow_configs":               "Allow configs",
	"allowed_countries":           "Allowed countries",
	"allowed_ips":                 "Allowed IPs",
	"clear_webhook_secret":        "Remove the webhook secret",
	"confirm_name":                "Name to confirm",
	"content":                     "Content",
	"country":                     "Country",
	"current_password":            "Current password",
	"customer_email":              "Customer e-mail",
	"customer_name":               "Customer name",
	"default_key_lifetime":        "Default API key lifetime",
	"default_redirect_url":        "Redirect URL",
	"days":                        "Days",
	"description":                 "Description",
	"developer_scopes":            "Developer scopes",
	"domain":                      "Domain",
	"domain_id":                   "Pinned domain",
	"duration":                    "Duration",
	"email":                       "Email",
	"enabled":                     "Enabled",
	"env":                         "Environment",
	"environment":                 "Environment",
	"events":                      "Events",
	"expires_at":                  "Expires",
	"expires_in":                  "Expires in",
	"expiring_days":               "Expiring days",
	"external_id":                 "External ID",
	"file":                        "File",
	"from":                        "From",
	"grace_seconds":               "Old key keeps working for",
	"has_paid":                    "Paid",
	"heartbeat_ttl":               "Heartbeat TTL",
	"identifier":                  "Identifier",
	"ip":                          "IP",
	"is_active":                   "Active",
	"is_locked":                   "Locked",
	"is_primary":                  "Primary",
	"is_test_license":             "Test license",
	"is_verified":                 "Verified",
	"license_file_encryption":     "Encrypt license files",
	"limit_developer_scopes":      "Limit developer scopes",
	"logo_url":                    "Logo URL",
	"max_concurrent":              "Max concurrent",
	"max_domains":                 "Max domains",
	"max_key_lifetime":            "Longest API key lifetime",
	"max_new_activations_per_day": "Max new activations per day",
	"max_subdomains_per_domain":   "Max subdomains per domain",
	"max_usage_per_day":           "Max usage per day",
	"metadata":                    "Metadata",
	"mode":                        "Mode",
	"name":                        "Name",
	"only_if_paid":                "Only if paid",
	"ordered":                     "Ordered",
	"org":                         "Organization",
	"org_id":                      "Organization",
	"org_name":                    "Organization name",
	"password":                    "Password",
	"project":                     "Project",
	"project_id":                  "Project",
	"q":                           "Search",
	"rate_limit_per_minute":       "Rate limit per minute",
	"role":                        "Role",
	"scopes":                      "Scopes",
	"secret":                      "Encryption secret",
	"since":                       "From",
	"slug":                        "Slug",
	"status":                      "Status",
	"target_path":                 "Target path",
	"target_type":                 "Target",
	"title":                       "Title",
	"ttl":                         "Valid for",
	"ttl_days":                    "Valid for (days)",
	"type":                        "Type",
	"until":                       "To",
	"url":                         "URL",
	"user_id":                     "Owner",
	"validate_against":            "Validate against",
	"validate_endpoint":           "Validate endpoint",
	"webhook_secret":              "Webhook secret",
	"webhook_url":                 "Webhook URL",
}

// label returns a field's label, or its name spelt out when it has none.
func label(field string) string {
	if l, ok := fieldLabels[field]; ok {
		return l
	}
	return strings.ReplaceAll(field, "_", " ")
}

// fieldPhrase is one rewrite: a way a service message names a field, and
// the label to say instead.
type fieldPhrase struct {
	re    *regexp.Regexp
	label string
}

// fieldPhrases are the rewrites, longest field first so that "expires at"
// is not taken for "expires". A field of one word ("name", "type") is
// rewritten only where the message names it as a field ("The name field",
// "The selected type"), never as a plain word of a sentence; a field of
// several words, or its raw API name (allowed_ips), wherever it appears.
var fieldPhrases = func() []fieldPhrase {
	fields := make([]string, 0, len(fieldLabels))
	for f := range fieldLabels {
		fields = append(fields, f)
	}
	sort.Slice(fields, func(i, j int) bool {
		if len(fields[i]) != len(fields[j]) {
			return len(fields[i]) > len(fields[j])
		}
		return fields[i] < fields[j]
	})
	var out []fieldPhrase
	for _, f := range fields {
		out = append(out, phrasesOf(f, fieldLabels[f])...)
	}
	return out
}()

func phrasesOf(field, lbl string) []fieldPhrase {
	spoken := regexp.QuoteMeta(strings.ReplaceAll(field, "_", " "))
	raw := regexp.QuoteMeta(field)
	var out []fieldPhrase
	if strings.Contains(field, "_") {
		out = append(out,
			fieldPhrase{regexp.MustCompile(`\b` + raw + `\b`), lbl},
			fieldPhrase{regexp.MustCompile(`\b` + spoken + `\b`), lbl})
	} else {
		out = append(out, fieldPhrase{regexp.MustCompile(`\b(The|the) ` + spoken + `( field)\b`), ""},
			fieldPhrase{regexp.MustCompile(`\b(The selected|the selected) ` + spoken + `\b()`), ""})
	}
	return out
}

// humanMessage rewrites a service message for the dashboard.
func humanMessage(msg string) string {
	// The license defaults panel's fields are license fields under a
	// prefix: the panel says which defaults they are.
	msg = strings.NewReplacer("license defaults.", "", "license_defaults.", "").Replace(msg)
	for _, p := range fieldPhrases {
		if p.label != "" {
			msg = p.re.ReplaceAllString(msg, p.label)
			continue
		}
		msg = p.re.ReplaceAllStringFunc(msg, func(m string) string {
			sub := p.re.FindStringSubmatch(m)
			field := strings.TrimPrefix(m, sub[1]+" ")
			field = strings.TrimSuffix(field, sub[2])
			return sub[1] + " " + label(strings.ReplaceAll(field, " ", "_")) + sub[2]
		})
	}
	return msg
}

// humanError returns a copy of a field error with every message in the
// forms' words; renames move a field the service names one way to the
// form field that holds it (the settings page's org_name is the service's
// name), saying the form field's label.
func humanError(e *core.Error, renames map[string]string) *core.Error {
	if e.Code != core.EInvalid && len(e.Fields) == 0 {
		return e
	}
	out := *e
	rename := func(msg string) string {
		for from, to := range renames {
			msg = regexp.MustCompile(`\b(The|the) `+regexp.QuoteMeta(strings.ReplaceAll(from, "_", " "))+`\b`).
				ReplaceAllString(msg, "${1} "+strings.ReplaceAll(to, "_", " "))
		}
		return humanMessage(msg)
	}
	out.Message = rename(e.Message)
	if e.Fields != nil {
		out.Fields = make(map[string][]string, len(e.Fields))
		for f, msgs := range e.Fields {
			if to, ok := renames[f]; ok {
				f = to
			}
			for _, m := range msgs {
				out.Fields[f] = append(out.Fields[f], rename(m))
			}
		}
	}
	return &out
}

// refused puts a service error on the form and returns the status to show
// it with; an internal error is returned as it is.
func (f *form) refused(err error, r *http.Request) (int, error) { return f.refusedAs(err, r, nil) }

// refusedAs is refused for a form whose fields are named otherwise than
// the service's (renames: service field → form field).
func (f *form) refusedAs(err error, r *http.Request, renames map[string]string) (int, error) {
	var ce *core.Error
	if renames != nil && errors.As(err, &ce) {
		err = humanError(ce, renames)
	}
	e, ok := publicError(err, r)
	if !ok {
		return 0, err
	}
	if len(e.Fields) > 0 {
		f.Errors = e.Fields
	}
	f.Error = e.Message
	return core.HTTPStatus(e.Code), nil
}
