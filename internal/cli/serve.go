package cli

import "github.com/spf13/cobra"

// newServeCmd is a placeholder until the command lands.
func newServeCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "serve", Short: "Serve the HTTP API", Hidden: true}
}
