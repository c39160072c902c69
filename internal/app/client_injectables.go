package app

import (
	"encoding/json"
	"iter"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

var (
	injectableTypes = []string{"file", "snippet", "html", "script", "component", "config", "json", "markdown", "css", "include",
		"sdk_module", "docs", "template"}
	injectableModes = []string{"inject", "write", "replace", "symlink", "append", "prepend", "mount", "inline_render", "stream"}
)

func newInjectablesCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "injectables",
		Short: "List, show, create, update, decrypt and delete a project's injectables",
		Long: `Manage a project's injectables (--project ID): payloads that validated, paid copies receive,
encrypted by the server for a secret it never stores. Keep the secret: copies need it, and
"latchkey injectables decrypt" needs it to show the content again.` + connectionHelp,
	}
	c := addConnFlags(cmd, env)
	var project int64
	addProjectFlag(cmd, c, &project)

	listCmd := listCmd(c, listing[client.Injectable]{
		use:     "list --project ID",
		short:   "List a project's injectables (without content)",
		example: "  latchkey injectables list --project 7",
		project: &project,
		fetch: func(cmd *cobra.Command, cl *client.Client) iter.Seq2[client.Injectable, error] {
			return cl.Injectables.List(cmd.Context(), project, nil)
		},
		header: []string{"ID", "SLUG", "TYPE", "MODE", "TARGET", "ACTIVE", "ONLY_IF_PAID"},
		row: func(i client.Injectable) []string {
			return []string{strconv.FormatInt(i.ID, 10), i.Slug, i.Type, i.Mode, i.TargetPath, yesNo(i.IsActive), yesNo(i.OnlyIfPaid)}
		},
	})

	oneInjectable := func(use, short, example string, run func(cmd *cobra.Command, cl *client.Client, id int64) error) *cobra.Command {
		return c.oneCmd("injectable", &project, use, short, example, run)
	}
	showCmd := oneInjectable("show ID --project ID", "Show an injectable, with its encrypted content", "  latchkey injectables show 5 --project 7",
		func(cmd *cobra.Command, cl *client.Client, id int64) error {
			i, err := cl.Injectables.Get(cmd.Context(), project, id)
			if err != nil {
				return err
			}
			return c.printer(cmd).object(i)
		})

	var decryptSecret string
	decryptCmd := oneInjectable("decrypt ID --project ID --secret SECRET", "Print an injectable's content, decrypted with its secret",
		"  latchkey injectables decrypt 5 --project 7 --secret \"$INJECTABLE_SECRET\" > banner.js",
		func(cmd *cobra.Command, cl *client.Client, id int64) error {
			if decryptSecret == "" {
				return usagef("--secret: give the secret the injectable was created with")
			}
			i, err := cl.Injectables.Get(cmd.Context(), project, id)
			if err != nil {
				return err
			}
			plain, err := i.Decrypt(decryptSecret)
			if err != nil {
				return err
			}
			if c.output == "json" {
				return c.printer(cmd).object(map[string]any{"id": i.ID, "slug": i.Slug, "target_path": i.TargetPath, "content": string(plain)})
			}
			_, err = cmd.OutOrStdout().Write(plain)
			return err
		})
	decryptCmd.Flags().StringVar(&decryptSecret, "secret", "", "the injectable's secret")

	var cf injectableFlags
	createCmd := &cobra.Command{
		Use:   "create --project ID --type T --mode M --target-path P --secret S (--content TEXT | --file PATH)",
		Short: "Create an injectable, encrypted with --secret",
		Example: `  latchkey injectables create --project 7 --slug banner --type snippet --mode inject \
    --target-path js/banner.js --secret "$INJECTABLE_SECRET" --content 'console.log("hi")' --only-if-paid`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireProject(cmd, project); err != nil {
				return err
			}
			u, err := cf.update(cmd)
			if err != nil {
				return err
			}
			in := client.InjectableCreate{Title: deref(u.Title), Slug: deref(u.Slug), Type: cf.typ, Mode: cf.mode, TargetPath: cf.targetPath,
				Secret: cf.secret, Content: deref(u.Content), OnlyIfPaid: cf.onlyIfPaid, IsActive: cf.active,
				ValidateEndpoint: deref(u.ValidateEndpoint), Meta: u.Meta, File: u.File}
			cl, err := c.client(true)
			if err != nil {
				return err
			}
			i, err := cl.Injectables.Create(cmd.Context(), project, in)
			if err != nil {
				return err
			}
			return c.printer(cmd).object(i)
		},
	}
	cf.add(createCmd)

	var uf injectableFlags
	updateCmd := oneInjectable("update ID --project ID [--content TEXT --secret S] …", "Change an injectable's fields (only the flags given)",
		"  latchkey injectables update 5 --project 7 --content 'console.log(2)' --secret \"$INJECTABLE_SECRET\"",
		func(cmd *cobra.Command, cl *client.Client, id int64) error {
			u, err := uf.update(cmd)
			if err != nil {
				return err
			}
			i, err := cl.Injectables.Update(cmd.Context(), project, id, u)
			if err != nil {
				return err
			}
			return c.printer(cmd).object(i)
		})
	uf.add(updateCmd)

	deleteCmd := oneInjectable("delete ID --project ID", "Delete an injectable", "  latchkey injectables delete 5 --project 7",
		func(cmd *cobra.Command, cl *client.Client, id int64) error {
			if err := cl.Injectables.Delete(cmd.Context(), project, id); err != nil {
				return err
			}
			return c.printer(cmd).object(map[string]any{"id": id, "deleted": true})
		})
	destructive(deleteCmd, env, plainQuestion("Delete", "injectable", &project))
	cmd.AddCommand(listCmd, showCmd, createCmd, updateCmd, decryptCmd, deleteCmd)
	return cmd
}

type injectableFlags struct {
	title, slug, typ, mode, targetPath, secret, content, file, validateEndpoint, meta string
	onlyIfPaid, active                                                                bool
}

func (f *injectableFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.title, "title", "", "a title")
	fs.StringVar(&f.slug, "slug", "", "unique in the project (default: generated)")
	fs.StringVar(&f.typ, "type", "", "file, snippet, html, script, component, config, json, markdown, css, include, sdk_module, docs or template")
	fs.StringVar(&f.mode, "mode", "", "inject, write, replace, symlink, append, prepend, mount, inline_render or stream")
	fs.StringVar(&f.targetPath, "target-path", "", "where the SDK writes it")
	fs.StringVar(&f.secret, "secret", "", "encrypts the content (at least 8 characters; never stored; needed whenever the content changes)")
	fs.StringVar(&f.content, "content", "", "the content (every type but file)")
	fs.StringVar(&f.file, "file", "", "a file to upload instead of --content (type file; at most 5 MB)")
	fs.StringVar(&f.validateEndpoint, "validate-endpoint", "", "an http(s) URL")
	fs.StringVar(&f.meta, "meta", "", "a JSON object of your own")
	fs.BoolVar(&f.onlyIfPaid, "only-if-paid", false, "deliver it only to paid copies")
	fs.BoolVar(&f.active, "active", true, "deliver it at all")
	cmd.MarkFlagsMutuallyExclusive("content", "file")
	_ = cmd.RegisterFlagCompletionFunc("type", fixedCompletion(injectableTypes...))
	_ = cmd.RegisterFlagCompletionFunc("mode", fixedCompletion(injectableModes...))
}

func (f *injectableFlags) update(cmd *cobra.Command) (client.InjectableUpdate, error) {
	var u client.InjectableUpdate
	changed := cmd.Flags().Changed
	for name, v := range map[string]struct {
		dst **string
		val *string
	}{"title": {&u.Title, &f.title}, "slug": {&u.Slug, &f.slug}, "type": {&u.Type, &f.typ}, "mode": {&u.Mode, &f.mode},
		"target-path": {&u.TargetPath, &f.targetPath}, "secret": {&u.Secret, &f.secret}, "content": {&u.Content, &f.content},
		"validate-endpoint": {&u.ValidateEndpoint, &f.validateEndpoint}} {
		if changed(name) {
			*v.dst = v.val
		}
	}
	if changed("only-if-paid") {
		u.OnlyIfPaid = &f.onlyIfPaid
	}
	if changed("active") {
		u.IsActive = &f.active
	}
	if changed("meta") {
		if !json.Valid([]byte(f.meta)) {
			return u, usagef("--meta: %q is not JSON", f.meta)
		}
		u.Meta = json.RawMessage(f.meta)
	}
	if changed("file") {
		data, err := os.ReadFile(f.file)
		if err != nil {
			return u, usagef("--file: %w", err)
		}
		u.File = &client.File{Name: filepath.Base(f.file), Data: data}
	}
	return u, nil
}
