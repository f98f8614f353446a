package cli

import "github.com/spf13/cobra"

// newTokenCmd is a placeholder until internal/app lands (the real command
// is ready and waits for it).
func newTokenCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "token", Short: "Manage API tokens", Hidden: true}
}
