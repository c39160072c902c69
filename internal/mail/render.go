package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

//go:embed templates
var templateFS embed.FS

// Each message has three templates in its .txt file and .html file:
// "subject" and "body" (text) and "body" (HTML, escaped by html/template).
var (
	textTemplates = texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/*.txt"))
	htmlTemplates = map[string]*htmltemplate.Template{}
)

func init() {
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		panic(err)
	}
	for _, e := range names {
		name, ok := strings.CutSuffix(e.Name(), ".html")
		if !ok {
			continue
		}
		htmlTemplates[name] = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/layout.html", "templates/"+e.Name()))
	}
}

// Render builds the message named name ("invitation", "password_reset")
// for to from data.
func Render(name, to string, data any) (Message, error) {
	m := Message{To: to}
	ht, ok := htmlTemplates[name]
	if !ok || textTemplates.Lookup(name+".txt") == nil {
		return m, fmt.Errorf("mail: no template %q", name)
	}
	var subj, text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&subj, name+"-subject", data); err != nil {
		return m, fmt.Errorf("mail: render %s subject: %w", name, err)
	}
	if err := textTemplates.ExecuteTemplate(&text, name+".txt", data); err != nil {
		return m, fmt.Errorf("mail: render %s text: %w", name, err)
	}
	if err := ht.ExecuteTemplate(&html, "layout", data); err != nil {
		return m, fmt.Errorf("mail: render %s HTML: %w", name, err)
	}
	m.Subject = strings.TrimSpace(subj.String())
	m.Text = strings.TrimSpace(text.String()) + "\n"
	m.HTML = html.String()
	return m, nil
}
