// Command latchkey is the Latchkey server, its admin tools and its
// command-line client, in one binary.
package main

import (
	"context"
	"os"

	"golang.org/x/term"

	"github.com/latchkey/latchkey/internal/app"
)

func main() {
	env := app.Env{Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Terminal: term.IsTerminal(int(os.Stdin.Fd()))}
	os.Exit(app.Main(context.Background(), os.Args[1:], env))
}
