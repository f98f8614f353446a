package cli

import "github.com/spf13/cobra"

// newTokenCmd is a placeholder until the command lands.
func newTokenCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "token", Short: "Manage API tokens", Hidden: true}
}
