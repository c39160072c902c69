package web

import (
	"html/template"
	"net/http"
	"regexp"

	"github.com/latchkey/latchkey/internal/core"
)

// docCode is one catalogue entry as the error page shows it.
type docCode struct {
	core.CodeInfo
	Anchor          string
	Meaning, Action template.HTML
}

// backticks marks `code` spans in the catalogue's Markdown-flavoured text.
var backticks = regexp.MustCompile("`([^`]+)`")

// inlineCode renders the catalogue's `code` spans as <code>, escaping the
// rest: the text is ours, but it is escaped all the same.
func inlineCode(s string) template.HTML {
	return template.HTML(backticks.ReplaceAllString(template.HTMLEscapeString(s), "<code>$1</code>"))
}

// errorCodes serves the error catalogue at core.DocPath, the page every
// error body's doc_url points at, so the link works on every node without
// the repository's docs.
func (d *dashboard) errorCodes(w http.ResponseWriter, r *http.Request) error {
	codes := core.Codes()
	out := make([]docCode, len(codes))
	for i, c := range codes {
		out[i] = docCode{CodeInfo: c, Anchor: core.DocAnchor(c.Code), Meaning: inlineCode(c.Meaning), Action: inlineCode(c.Action)}
	}
	return d.render(w, r, http.StatusOK, "errors", &view{Title: "Error codes", Data: out})
}
