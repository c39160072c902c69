// Command latchkey is the Latchkey server, its admin tools and its
// command-line client, in one binary.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/latchkey/latchkey/internal/app"
)

func main() {
	env := app.Env{Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if err := app.Run(context.Background(), os.Args[1:], env); err != nil {
		fmt.Fprintln(os.Stderr, "latchkey: "+app.ErrorLine(err))
		os.Exit(1)
	}
}
