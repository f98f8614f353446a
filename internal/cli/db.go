package cli

import "github.com/spf13/cobra"

// newDBCmd is a placeholder until the command lands.
func newDBCmd(a *App) *cobra.Command {
	return &cobra.Command{Use: "db", Short: "Check database health", Hidden: true}
}
