package cli

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sitrep-dev/sitrep/internal/server"
)

func newServeCmd(a *App) *cobra.Command {
	var (
		addr     string
		maxBody  int64
		shutdown time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API (incidents, timeline, action items, changes, tokens)",
		Long: `Serve sitrep's JSON API under /api/v1, plus /healthz, /readyz and /metrics.

Every /api/v1 request needs a bearer token (create one with sitrep token
create). The server listens on loopback only unless told otherwise; on
SIGTERM or Ctrl-C it stops accepting connections, finishes the requests in
flight (up to --shutdown-timeout) and closes the store.

The API is documented in docs/api.md.`,
		Example: `  # Serve on 127.0.0.1:8080 with the default store
  sitrep token create --name me --role admin
  sitrep serve

  # Another port and store
  sitrep serve --addr 127.0.0.1:9090 --db /var/lib/sitrep/sitrep.db

  # Call it
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/v1/incidents`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("addr") {
				if env := strings.TrimSpace(a.Getenv("SITREP_ADDR")); env != "" {
					addr = env
				}
			}
			if maxBody <= 0 {
				return fmt.Errorf("--max-body %d: must be a positive number of bytes", maxBody)
			}
			ctx := cmd.Context()
			svc, err := a.services(ctx)
			if err != nil {
				return err
			}
			defer svc.Close()

			if warn := server.ExposureWarning(addr); warn != "" {
				fmt.Fprintf(a.Stderr, "WARNING: %s\n", warn)
				a.Logger.Warn("listening beyond loopback", "addr", addr)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w (pick another with --addr or SITREP_ADDR)", addr, err)
			}
			fmt.Fprintf(a.Stdout, "sitrep API listening on http://%s (store: %s %s; docs: docs/api.md)\n", ln.Addr(), svc.Driver, svc.Location)
			if toks, err := svc.Tokens.List(ctx); err == nil && len(toks) == 0 {
				fmt.Fprintf(a.Stdout, "No API tokens yet. Create the first one with:\n  sitrep token create --name me --role admin\n")
			}
			srv := server.New(server.Options{
				Services: svc, Logger: a.Logger, Now: a.Now, MaxBody: maxBody, ShutdownTimeout: shutdown,
			})
			if err := srv.Serve(ctx, ln); err != nil {
				return err
			}
			fmt.Fprintln(a.Stdout, "sitrep API stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", server.DefaultAddr, "address to listen on, host:port (env SITREP_ADDR); loopback unless you mean otherwise")
	f.Int64Var(&maxBody, "max-body", server.DefaultMaxBody, "largest request body accepted, in bytes (larger: 413)")
	f.DurationVar(&shutdown, "shutdown-timeout", server.DefaultShutdownTimeout, "how long a graceful shutdown waits for requests in flight")
	return cmd
}
