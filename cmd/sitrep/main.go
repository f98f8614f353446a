// Command sitrep is an incident-response tool: it triages access logs,
// metrics, changes and probes, and keeps the incident's timeline.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sitrep-dev/sitrep/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
