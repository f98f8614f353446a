package cli

import "github.com/spf13/cobra"

// newServeCmd is a placeholder until internal/app lands (the real command
// is ready and waits for it).
func newServeCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "serve", Short: "Serve the HTTP API", Hidden: true}
}
